"""Near-duplicate detection: MinHash signatures over word shingles, LSH band keys in an index.

Rules: a material's text is its title, description and the extracted text of its current files,
folded (search.vietnamese.fold: NFC, no diacritics, lower case) and cut into 3-word shingles. The
signature is a one-permutation MinHash with densification (Li, Owen & Zhang 2012; Shrivastava &
Li 2014): each shingle's 64-bit hash falls in one of K bins and each bin keeps its minimum, so
computing it is linear in the text, not K times it. The K values form B bands of R rows; each band
is hashed to a key stored in minhash_bands with an index on (band, key). Candidates are the
materials sharing a band key: B index lookups, whatever the size of the repository. Their estimated
Jaccard similarity (the share of equal signature values) decides; the closest earlier materials
at or above THRESHOLD are recorded in near_duplicates. Re-running replaces a material's rows.
"""
from __future__ import annotations

import hashlib
import re
import struct
from typing import Any, Optional

from sqlalchemy import delete, select, tuple_

from repository.extensions import db
from repository.models import Material, MaterialSignature, MinHashBand, NearDuplicate, utcnow
from repository.permissions import require
from repository.services import guarded, unguarded
from search.vietnamese import fold

K = 128  # signature values
ROWS = 4  # rows per band: B = 32 bands, a candidate pair shares a band from about 42 % similarity
BANDS = K // ROWS
SHINGLE = 3
THRESHOLD = 0.5
KEEP = 5  # closest earlier materials recorded per material
TEXT_LIMIT = 200_000
_EMPTY = (1 << 64) - 1
_WORD = re.compile(r"\w+")


def _hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(fold(text[:TEXT_LIMIT]).lower())
    if len(words) < SHINGLE:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)}


@unguarded("a pure function of a text")
def signature(text: str) -> list[int]:
    """The K-value MinHash signature of a text (empty text: an empty list)."""
    shingles = _shingles(text)
    if not shingles:
        return []
    bins = [_EMPTY] * K
    for shingle in shingles:
        value = _hash64(shingle)
        index, rest = value % K, value // K
        if rest < bins[index]:
            bins[index] = rest
    # Densification: an empty bin borrows the value of the next non-empty bin (circularly), with
    # the offset mixed in so that borrowed values differ from the originals.
    filled = [i for i in range(K) if bins[i] != _EMPTY]
    for i in range(K):
        if bins[i] == _EMPTY:
            source = next((j for j in filled if j > i), filled[0])
            bins[i] = _hash64(struct.pack(">QQ", bins[source], (source - i) % K)) >> 8
    return [v & 0x7FFFFFFFFFFFFFFF for v in bins]


@unguarded("a pure function of two signatures")
def similarity(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity: the share of positions holding equal values."""
    if not a or not b:
        return 0.0
    return sum(1 for x, y in zip(a, b) if x == y) / K


def _band_keys(sig: list[int]) -> list[tuple[int, int]]:
    keys = []
    for band in range(BANDS):
        chunk = struct.pack(f">{ROWS}Q", *sig[band * ROWS:(band + 1) * ROWS])
        keys.append((band, _hash64(chunk) & 0x7FFFFFFFFFFFFFFF))  # fits a signed BIGINT
    return keys


def _text_of(material: Material) -> str:
    parts = [material.title or "", material.description or ""]
    parts += [f.extracted_text or "" for f in material.current_files]
    return "\n".join(parts)


def _candidates(material_id: int, keys: list[tuple[int, int]]) -> list[int]:
    query = (select(MinHashBand.material_id).where(tuple_(MinHashBand.band, MinHashBand.key).in_(keys),
                                                   MinHashBand.material_id != material_id).distinct())
    return list(db.session.scalars(query))


@unguarded("runs after text extraction for an accepted file; no actor is involved")
def fingerprint(material_id: int) -> list[NearDuplicate]:
    """(Re)compute the material's signature and band keys and record its near-duplicates among
    earlier materials; commits. Returns the flags recorded."""
    material = db.session.get(Material, material_id)
    if material is None:
        return []
    sig = signature(_text_of(material))
    db.session.execute(delete(MinHashBand).where(MinHashBand.material_id == material_id))
    db.session.execute(delete(NearDuplicate).where(NearDuplicate.material_id == material_id))
    stored = db.session.get(MaterialSignature, material_id)
    if stored is None:
        stored = MaterialSignature(material_id=material_id, signature=sig)
        db.session.add(stored)
    stored.signature, stored.computed_at = sig, utcnow()
    flags: list[NearDuplicate] = []
    if sig:
        keys = _band_keys(sig)
        earlier = [c for c in _candidates(material_id, keys) if c < material_id]
        flags = _flags(material_id, sig, earlier)
        db.session.add_all([MinHashBand(material_id=material_id, band=b, key=k) for b, k in keys])
        db.session.add_all(flags)
    db.session.commit()
    return flags


def _flags(material_id: int, sig: list[int], candidates: list[int]) -> list[NearDuplicate]:
    if not candidates:
        return []
    rows = db.session.execute(select(MaterialSignature.material_id, MaterialSignature.signature)
                              .where(MaterialSignature.material_id.in_(candidates)))
    scored = sorted(((similarity(sig, other_sig), other_id) for other_id, other_sig in rows), reverse=True)
    return [NearDuplicate(material_id=material_id, other_id=other_id, similarity=round(score, 3))
            for score, other_id in scored[:KEEP] if score >= THRESHOLD]


@guarded("material.view")
def flags_for(actor: Any, material: Material) -> list[NearDuplicate]:
    """The near-duplicate flags of a material the actor may see, most similar first."""
    require(actor, "material.view", material)
    query = select(NearDuplicate).where(NearDuplicate.material_id == material.id)
    return list(db.session.scalars(query.order_by(NearDuplicate.similarity.desc())))


@unguarded("a lookup for the review page, whose caller checked material.view")
def signature_of(material_id: int) -> Optional[list[int]]:
    row = db.session.get(MaterialSignature, material_id)
    return row.signature if row else None
