"""A stateful property test: Wave customer mutations against a dict model, through ``handle``.

Random sequences of create / patch / delete must leave the paged list equal to the model, with
``createdAt`` fixed and ``modifiedAt`` strictly increasing per write.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from engine.sandbox.base import Request
from engine.sandbox.wave import WaveSandbox

NAMES = st.text(alphabet="abcæøå XYZ-", min_size=1, max_size=12).filter(lambda s: s.strip())


class WaveCustomers(RuleBasedStateMachine):
    """Model: customer id → (name, email, createdAt, modifiedAt)."""

    customers = Bundle("customers")

    def __init__(self) -> None:
        super().__init__()
        self.sandbox = WaveSandbox(None, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))
        self.business = self.sandbox.default_business_id
        self.model: dict[str, dict[str, Any]] = {}

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        resp = self.sandbox.handle(Request("POST", "/graphql/public", body=body, headers={
            "authorization": f"Bearer {self.sandbox.credentials()['token']}"}))
        assert resp.status == 200 and "errors" not in resp.body, resp.body
        return dict(resp.body["data"])

    @rule(target=customers, name=NAMES, email=st.sampled_from([None, "a@b.no", "x@y.se"]))
    def create(self, name: str, email: str | None) -> str:
        out = self.gql("""mutation($input: CustomerCreateInput!) { customerCreate(input: $input) {
            didSucceed customer { id name email createdAt modifiedAt } } }""",
                       input={"businessId": self.business, "name": name, "email": email})
        customer = out["customerCreate"]["customer"]
        assert out["customerCreate"]["didSucceed"] and customer["id"] not in self.model
        self.model[customer["id"]] = customer
        return str(customer["id"])

    @rule(key=customers, name=NAMES)
    def patch(self, key: str, name: str) -> None:
        out = self.gql("""mutation($input: CustomerPatchInput!) { customerPatch(input: $input) {
            didSucceed customer { id name email createdAt modifiedAt } } }""",
                       input={"id": key, "name": name})["customerPatch"]
        if key not in self.model:
            assert out["didSucceed"] is False
            return
        before = self.model[key]
        after = out["customer"]
        assert after["createdAt"] == before["createdAt"]
        assert _when(after["modifiedAt"]) > _when(before["modifiedAt"])
        assert after["email"] == before["email"]
        self.model[key] = after

    @rule(key=consumes(customers))
    def delete(self, key: str) -> None:
        out = self.gql("""mutation($input: CustomerDeleteInput!) {
            customerDelete(input: $input) { didSucceed } }""", input={"id": key})
        assert out["customerDelete"]["didSucceed"] is True
        del self.model[key]

    @invariant()
    def list_matches_model(self) -> None:
        seen: dict[str, dict[str, Any]] = {}
        page, total_pages = 1, 1
        while page <= total_pages:
            conn = self.gql("""query($b: ID!, $p: Int!) { business(id: $b) {
                customers(page: $p, pageSize: 3, sort: [MODIFIED_AT_DESC]) {
                  pageInfo { totalPages totalCount }
                  edges { node { id name email createdAt modifiedAt } } } } }""",
                            b=self.business, p=page)["business"]["customers"]
            assert conn["pageInfo"]["totalCount"] == len(self.model)
            total_pages = conn["pageInfo"]["totalPages"]
            seen.update({e["node"]["id"]: e["node"] for e in conn["edges"]})
            page += 1
        assert seen == self.model


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


WaveCustomers.TestCase.settings = settings(max_examples=15, stateful_step_count=12,
                                           deadline=None)
TestWaveCustomers = WaveCustomers.TestCase
