"""The cryptography of sealed bids, with no domain in it (docs/bidding.md, "Encryption").

- A tender's key pair is X25519. A bid version is sealed to its public key with HPKE (RFC 9180:
  X25519, HKDF-SHA256, AES-256-GCM) from the ``cryptography`` library; the context string (tender,
  bid, version) is bound in, so a ciphertext moved to another bid or version does not open.
- Attachments are encrypted with AES-256-GCM under a key of their own; that key travels in the sealed
  version.
- The tender's private key is split in two layers: a part for the platform (wrapped by the
  deployment's key, :mod:`core.keyring`) and the rest split among the opening officers by Shamir's
  scheme (k of n, pycryptodome, over two 16-byte halves). Opening needs the platform's part and k
  officers' shares: neither side can open alone.
- An officer's personal opening key is locked by a passphrase (scrypt, then AES-256-GCM); the
  passphrase is never stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from Crypto.Protocol.SecretSharing import Shamir
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
KEY_BYTES = 32
_NONCE = 12
_HALF = 16
_RAW = {"encoding": serialization.Encoding.Raw, "format": serialization.PublicFormat.Raw}


class SealError(Exception):
    """Something could not be decrypted. ``reason``: ``tampered`` (the ciphertext or its context does
    not authenticate), ``wrong_passphrase``, ``wrong_share`` or ``malformed``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError, AttributeError) as exc:
        raise SealError("malformed") from exc


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- key pairs and sealing -------------------------------------------------------------------------


def new_key_pair() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair: (private, public), 32 raw bytes each."""
    private = X25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return raw, private.public_key().public_bytes(**_RAW)


def public_key_of(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(**_RAW)


def fingerprint(public: bytes) -> str:
    """A short name for a public key (the first 16 hex digits of its SHA-256)."""
    return sha256_hex(public)[:16]


def seal(plaintext: bytes, public: bytes, context: str) -> bytes:
    """Encrypt ``plaintext`` to the holder of ``public``'s private key; only that key opens it, and only
    under the same ``context``."""
    return SUITE.encrypt(plaintext, X25519PublicKey.from_public_bytes(public), info=context.encode())


def unseal(ciphertext: bytes, private: bytes, context: str) -> bytes:
    try:
        return SUITE.decrypt(ciphertext, X25519PrivateKey.from_private_bytes(private), info=context.encode())
    except (InvalidTag, ValueError) as exc:
        raise SealError("tampered") from exc


def seal_json(payload: dict, public: bytes, context: str) -> bytes:
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return seal(body, public, context)


def unseal_json(ciphertext: bytes, private: bytes, context: str) -> dict:
    body = unseal(ciphertext, private, context)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SealError("malformed") from exc


# --- files -----------------------------------------------------------------------------------------


def encrypt_file(data: bytes, context: str) -> tuple[bytes, bytes]:
    """(key, nonce + ciphertext) of ``data`` under a fresh AES-256-GCM key, ``context`` authenticated."""
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE)
    return key, nonce + AESGCM(key).encrypt(nonce, data, context.encode())


def decrypt_file(key: bytes, blob: bytes, context: str) -> bytes:
    if len(key) != KEY_BYTES or len(blob) < _NONCE + 16:
        raise SealError("malformed")
    try:
        return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], context.encode())
    except InvalidTag as exc:
        raise SealError("tampered") from exc


# --- splitting the tender's private key ------------------------------------------------------------


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def split_secret(secret: bytes, holders: int, threshold: int) -> tuple[bytes, list[tuple[int, bytes]]]:
    """Split a 32-byte ``secret``: (the platform's part, [(index, share)] for ``holders`` officers, any
    ``threshold`` of whom, with the platform's part, rebuild it)."""
    if len(secret) != KEY_BYTES or not 1 <= threshold <= holders:
        raise ValueError("a 32-byte secret and 1 <= threshold <= holders")
    platform = os.urandom(KEY_BYTES)
    rest = _xor(secret, platform)
    low = Shamir.split(threshold, holders, rest[:_HALF])
    high = Shamir.split(threshold, holders, rest[_HALF:])
    return platform, [(i, a + b) for (i, a), (j, b) in zip(low, high, strict=True) if i == j]


def combine_secret(platform: bytes, shares: list[tuple[int, bytes]]) -> bytes:
    """The secret from the platform's part and enough officers' shares (a wrong share gives a wrong
    secret: the caller checks it against the public key)."""
    if len(platform) != KEY_BYTES or not shares or any(len(s) != KEY_BYTES for _i, s in shares):
        raise SealError("malformed")
    low = Shamir.combine([(i, s[:_HALF]) for i, s in shares])
    high = Shamir.combine([(i, s[_HALF:]) for i, s in shares])
    return _xor(low + high, platform)


# --- passphrase-locked keys ------------------------------------------------------------------------


def _scrypt(passphrase: str, salt: bytes, log_n: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_BYTES, n=2**log_n, r=8, p=1).derive(passphrase.encode("utf-8"))


def lock_with_passphrase(secret: bytes, passphrase: str, log_n: int) -> str:
    """``secret`` encrypted under a key derived from ``passphrase`` (scrypt), as a JSON string."""
    salt, nonce = os.urandom(16), os.urandom(_NONCE)
    sealed = AESGCM(_scrypt(passphrase, salt, log_n)).encrypt(nonce, secret, b"opening-key")
    return json.dumps(
        {"v": 1, "kdf": "scrypt", "log_n": log_n, "salt": b64(salt), "nonce": b64(nonce), "ct": b64(sealed)}
    )


def unlock_with_passphrase(locked: str, passphrase: str) -> bytes:
    try:
        box = json.loads(locked)
        salt, nonce, sealed, log_n = (
            unb64(box["salt"]),
            unb64(box["nonce"]),
            unb64(box["ct"]),
            int(box["log_n"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SealError("malformed") from exc
    try:
        return AESGCM(_scrypt(passphrase, salt, log_n)).decrypt(nonce, sealed, b"opening-key")
    except InvalidTag as exc:
        raise SealError("wrong_passphrase") from exc
