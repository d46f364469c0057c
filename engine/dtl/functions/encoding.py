"""DTL encoding functions: JSON text (plain and transit), bytes and base64, murmur3 hashes,
UUIDs and Fernet encryption.

The JSON text these functions write is Python's ``json.dumps`` default style, which is what
Sesam's examples show: ``", "`` and ``": "`` separators, keys sorted, non-ASCII escaped
(``\\u00e5``). Plain ``json`` writes typed values as their text (a URI as its address, a decimal
as a bare number); ``json-transit`` writes them as transit strings (``"~r..."``, ``"~f..."``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import json
import math
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import mmh3

from engine.dtl.functions.types import cast_with_default
from engine.dtl.registry import SpecCollector
from engine.dtl.values import DROP, first_value, map_each
from engine.entity import NI, URI, decode, encode, format_datetime
from engine.errors import DtlEvalError, EntityError

if TYPE_CHECKING:
    from engine.dtl.env import Env
    from engine.dtl.registry import Evaluator

FUNCTIONS = SpecCollector()


def _typed_text(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return format_datetime(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, URI):
        return value.value
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, NI | uuid.UUID):
        return str(value)
    raise DtlEvalError(f"cannot write {type(value).__name__} {value!r} as JSON")


def to_json_text(value: Any, *, transit: bool) -> str:
    """JSON text of a DTL value in ``json.dumps`` default style with sorted keys.

    >>> to_json_text({"b": [1, 2.5], "a": None}, transit=False)
    '{"a": null, "b": [1, 2.5]}'
    >>> to_json_text(URI("http://x/"), transit=True)
    '"~rhttp://x/"'
    """
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DtlEvalError(f"{value!r} cannot be written as JSON")
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps("~" + value if transit and value.startswith("~") else value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(to_json_text(v, transit=transit) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return (
            "{"
            + ", ".join(f"{json.dumps(k)}: {to_json_text(v, transit=transit)}" for k, v in items)
            + "}"
        )
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise DtlEvalError(f"{value!r} cannot be written as JSON")
        return json.dumps("~f" + format(value, "f")) if transit else format(value, "f")
    if transit:
        try:
            return json.dumps(encode(value))
        except EntityError as e:
            raise DtlEvalError(e.message) from None
    return json.dumps(_typed_text(value))


@FUNCTIONS.expression("json", min_args=1, max_args=1)
def json_(values: Any) -> Any:
    """Write values as JSON text (no transit encoding, keys sorted).

    Write every value as JSON text without transit encoding, keys sorted: ``"hello"`` →
    ``"\\"hello\\""``, ``{"b": 2, "a": 1}`` → ``"{\\"a\\": 1, \\"b\\": 2}"``, a URI as its quoted
    address. A list maps element-wise; null gives null."""
    return map_each(values, lambda v: DROP if v is None else to_json_text(v, transit=False))


@FUNCTIONS.expression("json-transit", min_args=1, max_args=1)
def json_transit(values: Any) -> Any:
    """Like ``json``, but typed values are transit-encoded (a URI becomes ``"\\"~r...\\""``)."""
    return map_each(values, lambda v: DROP if v is None else to_json_text(v, transit=True))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(value: Any, *, transit: bool) -> Any:
    """Parse one JSON string (transit-decoded if asked); DROP when it is not valid JSON."""
    if not isinstance(value, str):
        return DROP
    try:
        parsed = json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return DROP
    return decode(parsed) if transit else parsed


@FUNCTIONS.expression("json-parse", min_args=1, max_args=2, lazy=True)
def json_parse(env: Env, *args: Evaluator) -> Any:
    """Parse JSON strings (no transit decoding), with an optional DEFAULT.

    ``json-parse([DEFAULT], VALUES)``: parse JSON strings (no transit decoding, so
    ``"\\"~r...\\""`` stays a string). Invalid JSON is dropped or replaced by DEFAULT; ``"null"``
    is valid and gives null."""
    return cast_with_default(env, args, lambda v: parse_json(v, transit=False))


@FUNCTIONS.expression("json-transit-parse", min_args=1, max_args=2, lazy=True)
def json_transit_parse(env: Env, *args: Evaluator) -> Any:
    """Parse transit-encoded JSON strings, with an optional DEFAULT.

    ``json-transit-parse([DEFAULT], VALUES)``: like ``json-parse`` but transit-decodes, so
    ``"\\"~rhttp://example.org/\\""`` gives a URI."""
    return cast_with_default(env, args, lambda v: parse_json(v, transit=True))


def _as_bytes(value: Any) -> bytes | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return None


@FUNCTIONS.expression("bytes", min_args=1, max_args=1)
def bytes_(values: Any) -> Any:
    """Encode strings as UTF-8 bytes; bytes stay bytes; other values are ignored."""
    return map_each(values, lambda v: DROP if (b := _as_bytes(v)) is None else b)


@FUNCTIONS.expression("base64-encode", min_args=1, max_args=1)
def base64_encode(values: Any) -> Any:
    """Base64-encode bytes into ASCII strings.

    ``["base64-encode", ["bytes", "abc"]]`` → ``"YWJj"``; non-bytes values (strings included)
    are ignored."""

    def convert(value: Any) -> Any:
        if not isinstance(value, bytes | bytearray):
            return DROP
        return base64.b64encode(bytes(value)).decode("ascii")

    return map_each(values, convert)


@FUNCTIONS.expression("base64-decode", min_args=1, max_args=1)
def base64_decode(values: Any) -> Any:
    """Decode base64 strings into bytes; invalid base64 and non-strings are ignored."""

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return DROP
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return DROP

    return map_each(values, convert)


@FUNCTIONS.expression("hash128", min_args=2, max_args=3)
def hash128(algorithm: Any, *args: Any) -> Any:
    """128-bit MurmurHash3 of strings and bytes.

    ``hash128("murmur3", [SEED], VALUES)``: the unsigned 128-bit MurmurHash3 (x64) of each
    string (UTF-8) or bytes value; other types are ignored. ``"abc"`` →
    79267961763742113019008347020647561319."""
    if first_value(algorithm) != "murmur3":
        raise DtlEvalError(f"hash128: the only algorithm is 'murmur3', got {algorithm!r}")
    seed: Any = 0
    if len(args) == 2:
        seed = first_value(args[0])
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
            raise DtlEvalError(f"hash128: SEED must be an integer in 0..2^32-1, got {seed!r}")

    def convert(value: Any) -> Any:
        data = _as_bytes(value)
        if data is None:
            return DROP
        return mmh3.hash128(data, seed, True, False)

    return map_each(args[-1], convert)


@FUNCTIONS.expression("uuid", min_args=0, max_args=1, deterministic=False)
def uuid_(*args: Any) -> Any:
    """A new random UUID, or UUID strings cast to UUID values.

    ``uuid()`` gives a new random (v4) UUID; ``uuid(VALUES)`` casts UUID strings to UUID
    values (``"~u..."``), dropping the rest."""
    if not args:
        return uuid.uuid4()

    def convert(value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                return DROP
        return DROP

    return map_each(args[0], convert)


def _fernet(key: Any) -> Any:
    from cryptography.fernet import Fernet

    password = first_value(key)
    if not isinstance(password, str) or not password:
        raise DtlEvalError(f"KEY must be a non-empty string (a password), got {password!r}")
    # Fernet needs 32 random-looking bytes; the password is stretched with SHA-256 so any text
    # works as a key, as in Sesam ("the key as the password").
    digest = hashlib.sha256(password.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _plaintext(data: bytes) -> Any:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


@FUNCTIONS.expression("encrypt", min_args=2, max_args=2, deterministic=False)
def encrypt(key: Any, values: Any) -> Any:
    """Fernet-encrypt strings and bytes with a password into bytes tokens.

    ``encrypt(KEY, VALUES)``: KEY is a password. Strings are encrypted as UTF-8. Tokens carry a
    random IV and a timestamp, so each call gives a new value; ``decrypt`` reverses it."""
    fernet = _fernet(key)
    return map_each(values, lambda v: DROP if (b := _as_bytes(v)) is None else fernet.encrypt(b))


@FUNCTIONS.expression("decrypt", min_args=2, max_args=2)
def decrypt(key: Any, values: Any) -> Any:
    """Decrypt tokens made by ``encrypt`` with the same password.

    ``decrypt(KEY, VALUES)``: the result is a string when the plaintext is UTF-8, else bytes.
    Tokens may be bytes or their text; invalid tokens are ignored."""
    from cryptography.fernet import InvalidToken

    fernet = _fernet(key)

    def convert(value: Any) -> Any:
        if not isinstance(value, str | bytes):
            return DROP
        try:
            return _plaintext(fernet.decrypt(value))
        except (InvalidToken, ValueError):
            return DROP

    return map_each(values, convert)


def _pem_key(value: Any, private: bool) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    text = first_value(value)
    if not isinstance(text, str):
        raise DtlEvalError(f"expected an RSA key in PEM format, got {text!r}")
    key: Any
    try:
        if private:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            key = serialization.load_pem_public_key(text.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as e:
        raise DtlEvalError(f"not a readable RSA key in PEM format: {e}") from None
    expected = rsa.RSAPrivateKey if private else rsa.RSAPublicKey
    if not isinstance(key, expected):
        raise DtlEvalError("expected an RSA key in PEM format")
    return key


def _oaep() -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
    )


@FUNCTIONS.expression("encrypt-pki", min_args=2, max_args=2, deterministic=False)
def encrypt_pki(public_key: Any, values: Any) -> Any:
    """RSA-encrypt short strings with a PEM public key into bytes.

    ``encrypt-pki(PUBLIC_KEY, VALUES)``: RSA with OAEP (SHA-256) padding; non-strings are
    ignored, and so are strings too long for one RSA block. ``decrypt-pki`` reverses it."""
    key = _pem_key(public_key, private=False)
    padding = _oaep()

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return DROP
        try:
            return key.encrypt(value.encode("utf-8"), padding)
        except ValueError:  # longer than the key can encrypt in one block
            return DROP

    return map_each(values, convert)


@FUNCTIONS.expression("decrypt-pki", min_args=2, max_args=2)
def decrypt_pki(private_key: Any, values: Any) -> Any:
    """Decrypt bytes made by ``encrypt-pki`` with the matching PEM private key.

    ``decrypt-pki(PRIVATE_KEY, VALUES)``: gives strings; non-bytes and undecryptable values are
    ignored."""
    key = _pem_key(private_key, private=True)
    padding = _oaep()

    def convert(value: Any) -> Any:
        if not isinstance(value, bytes | bytearray):
            return DROP
        try:
            return _plaintext(key.decrypt(bytes(value), padding))
        except ValueError:
            return DROP

    return map_each(values, convert)
