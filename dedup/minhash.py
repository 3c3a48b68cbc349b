"""MinHash signatures for a whole Arrow batch at once, under one of three schemes.

- `oph` (the default): one-permutation hashing with optimal densification (dedup.oph), O(shingles + k) per
  document, in numba straight from the token hashes.
- `datasketch`: classic MinHash, bit-identical to datasketch's `MinHash` (below), O(shingles x k). It is the
  reference the default is measured against (bench/minhash.py: speed and Jaccard estimation error).
- `rensa`: rensa's `RMinHash` (Rust, its own hashing and permutations).

Signatures of different schemes (or permutations, seeds, n-grams) are not comparable: `SignatureConfig.
metadata` names all of them, and every index and annotated batch carries it (dedup.index, dedup.kernel).

For the `datasketch` scheme, datasketch (scheme "legacy") is the reference: permutations `(a, b)` drawn from `np.random.RandomState(seed)`,
`phv = ((a * h + b) mod 2^64) mod (2^61 - 1)) & (2^32 - 1)` with uint64 wrap-around, signature = min over
shingles. We compute the same numbers for all shingles of a batch in one pass (numba when installed, else
NumPy in cache-sized chunks); datasketch would loop over documents and hash each shingle in Python. The
Mersenne modulo is taken with a shift and an add instead of a division (x mod p = (x & p) + (x >> 61), minus p
once if needed), which gives the same value for every 64-bit x. The `rensa` scheme cannot match bit for bit; it
is tested to agree with datasketch's Jaccard estimates within the sampling error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from corpus.schema import as_text
from dedup.normalize import token_batch
from dedup.oph import oph_numpy, salts
from dedup.shingles import HAVE_NUMBA, document_hashes, shingle_hashes, token_hashes, use_numba

MERSENNE = (1 << 61) - 1
MAX_HASH = (1 << 32) - 1
SCHEMES = ("oph", "datasketch", "rensa")
# Permutations a signature may have: LSH banding's search (datasketch's integration, dedup.lsh) takes
# seconds at 8192 and grows faster than num_perm, and every document's signature is num_perm x 8 bytes
# (64 KiB at 8192): 10^8 ran for minutes on three documents.
MAX_NUM_PERM = 8192
ENGINES = ("auto", "numba", "numpy")  # implementations of the oph and datasketch schemes (same bits)
# Bump when the bits a scheme produces change: signatures of different versions never mix.
SCHEME_VERSION = {"oph": 1, "datasketch": 1, "rensa": 1}
_U = np.uint64
_CHUNK = 512  # shingles per NumPy chunk: chunk x num_perm uint64 stays in L2


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's legacy-scheme permutation parameters (a, b), each uint64[num_perm]."""
    if num_perm < 1:
        raise ValueError(f"num_perm {num_perm}: must be at least 1")
    gen = np.random.RandomState(seed)
    pairs = np.array(
        [
            (gen.randint(1, MERSENNE, dtype=np.uint64), gen.randint(0, MERSENNE, dtype=np.uint64))
            for _ in range(num_perm)
        ],
        dtype=np.uint64,
    ).T
    a, b = pairs[0].copy(), pairs[1].copy()
    a.flags.writeable = b.flags.writeable = False
    return a, b


def minhash_signatures(
    hashes: np.ndarray, offsets: np.ndarray, num_perm: int = 128, seed: int = 1, engine: str = "auto"
) -> np.ndarray:
    """Signatures (uint64[docs, num_perm], values < 2^32) of documents whose shingle hashes are
    `hashes[offsets[d]:offsets[d+1]]`. A document without shingles gets datasketch's empty value (2^32-1)."""
    a, b = permutations(num_perm, seed)
    docs = len(offsets) - 1
    out = np.full((docs, num_perm), MAX_HASH, dtype=np.uint64)
    if len(hashes) == 0:
        return out
    if use_numba(engine):
        _minhash_nb(hashes, np.asarray(offsets, np.int64), a, b, out)
        return out
    # NumPy: process shingles in chunks; reduce each chunk per document with minimum.reduceat.
    doc_of = np.repeat(np.arange(docs), np.diff(offsets))
    buf = np.empty((_CHUNK, num_perm), dtype=np.uint64)
    tmp = np.empty_like(buf)
    for lo in range(0, len(hashes), _CHUNK):
        h = hashes[lo : lo + _CHUNK]
        v, t = buf[: len(h)], tmp[: len(h)]
        np.multiply(h[:, None], a[None, :], out=v)
        v += b
        np.right_shift(v, _U(61), out=t)
        v &= _U(MERSENNE)
        v += t
        np.subtract(v, _U(MERSENNE), out=t)
        np.minimum(v, t, out=v)  # v - p wraps above v unless v >= p
        v &= _U(MAX_HASH)
        owners = doc_of[lo : lo + len(h)]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        mins = np.minimum.reduceat(v, starts, axis=0)
        rows = owners[starts]
        out[rows] = np.minimum(out[rows], mins)
    return out


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One int64 key per (document, band): a hash of the band's index and its `rows` signature values.
    Documents share a key exactly when their band values are equal (up to 64-bit hash collisions)."""
    docs = signatures.shape[0]
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"bands x rows = {bands * rows} exceeds num_perm {signatures.shape[1]}")
    acc = np.broadcast_to(np.arange(bands, dtype=np.uint64), (docs, bands)).copy()
    view = signatures[:, : bands * rows].reshape(docs, bands, rows)
    for r in range(rows):
        acc = acc * _U(0x9E3779B97F4A7C15) + view[:, :, r]
        acc ^= acc >> _U(29)
    acc *= _U(0xBF58476D1CE4E5B9)
    acc ^= acc >> _U(32)
    return acc.view(np.int64)


@dataclass(frozen=True)
class SignatureConfig:
    """How documents are turned into signatures. Changing any field changes every signature (and so the
    meaning of a cross-dump index)."""

    num_perm: int = 128
    ngram: int = 5
    seed: int = 1
    scheme: str = "oph"  # oph | datasketch | rensa (see the module doc)
    engine: str = "auto"  # auto (numba if installed, else numpy) | numba | numpy: the same bits

    def __post_init__(self) -> None:
        for name in ("num_perm", "ngram", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"{name} {value!r}: expected an integer")
        # datasketch's scheme and rensa seed 32-bit generators; oph salts its hashes with the seed's 64 bits
        largest = (1 << 64) - 1 if self.scheme == "oph" else MAX_HASH
        if not 0 <= self.seed <= largest:
            raise ValueError(f"seed {self.seed}: expected 0 to {largest} (scheme {self.scheme})")
        if self.num_perm < 2:
            raise ValueError(f"num_perm {self.num_perm}: must be at least 2")
        if self.num_perm > MAX_NUM_PERM:
            raise ValueError(f"num_perm {self.num_perm}: expected at most {MAX_NUM_PERM}")
        if self.ngram < 1:
            raise ValueError(f"ngram {self.ngram}: must be at least 1")
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme {self.scheme!r}: expected one of {', '.join(SCHEMES)}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine {self.engine!r}: expected one of {', '.join(ENGINES)}")
        if self.engine == "numba" and not HAVE_NUMBA:
            raise ValueError("engine 'numba': numba is not installed")

    @property
    def metadata(self) -> dict[str, str]:
        """What makes two signatures comparable: scheme (with its version), permutations, n-gram, seed."""
        return {
            "minhash_scheme": f"{self.scheme}/{SCHEME_VERSION[self.scheme]}",
            "num_perm": str(self.num_perm),
            "ngram": str(self.ngram),
            "seed": str(self.seed),
        }


class SchemeMismatch(ValueError):
    """Signatures made under different settings were about to be compared."""


def check_same_scheme(ours: dict[str, str], theirs: dict[str, str], what: str) -> None:
    """Raise SchemeMismatch naming the first setting of signature `metadata` that differs."""
    for key, value in ours.items():
        other = theirs.get(key)
        if other != value:
            raise SchemeMismatch(
                f"{what}: signatures made with {key}={other!r} cannot be compared with {key}={value!r}"
            )


@dataclass(frozen=True)
class BatchSignatures:
    """Signatures of one batch: uint64[docs, num_perm], shingle counts and exact-text hashes per document,
    and the signature settings (`SignatureConfig.metadata`)."""

    signatures: np.ndarray
    n_shingles: np.ndarray
    text_hashes: np.ndarray  # int64 view of the 64-bit document hash
    metadata: dict[str, str]

    def jaccard(self, i: int, other: BatchSignatures, j: int) -> float:
        """Estimated Jaccard similarity of document i here and document j of `other` (refuses to compare
        signatures of different schemes or settings)."""
        check_same_scheme(self.metadata, other.metadata, "jaccard")
        return float(np.mean(self.signatures[i] == other.signatures[j]))


def batch_signatures(
    texts: pa.Array | pa.ChunkedArray, config: SignatureConfig = SignatureConfig()
) -> BatchSignatures:
    """MinHash signatures of every text of a batch (one pass over the whole batch); TypeError for a column
    of another type than strings (corpus.schema.as_text)."""
    texts = as_text(texts)
    numba_path = use_numba(config.engine)
    if config.scheme == "rensa" or not numba_path:
        token_lists = token_batch(texts)
        value_offsets = token_lists.offsets.to_numpy().astype(np.int64)
        flat = token_lists.flatten()
        doc_offsets = value_offsets - value_offsets[0]
        if config.scheme == "rensa":
            return _rensa_signatures(token_lists, flat, doc_offsets, config)
        tok = token_hashes(flat, config.engine)
    else:
        from dedup.byte_tokens import document_tokens_numba

        tok, doc_offsets = document_tokens_numba(texts)
    text_hashes = document_hashes(tok, doc_offsets, config.engine).view(np.int64)
    if config.scheme == "oph" and numba_path:
        from dedup.oph import oph_from_tokens_nb

        value_salt, probe_salt = salts(config.seed)
        sigs = np.empty((len(doc_offsets) - 1, config.num_perm), dtype=np.uint64)
        counts = oph_from_tokens_nb(
            tok,
            doc_offsets,
            config.ngram,
            config.num_perm,
            np.uint64(value_salt),
            np.uint64(probe_salt),
            sigs,
        )
        return BatchSignatures(sigs, counts, text_hashes, config.metadata)
    sh, sh_offsets = shingle_hashes(tok, doc_offsets, config.ngram, config.engine)
    if config.scheme == "oph":
        sigs = oph_numpy(sh, sh_offsets, config.num_perm, config.seed)
    else:
        sigs = minhash_signatures(sh, sh_offsets, config.num_perm, config.seed, config.engine)
    return BatchSignatures(sigs, np.diff(sh_offsets), text_hashes, config.metadata)


def _rensa_signatures(
    token_lists: pa.ListArray, flat: pa.Array, doc_offsets: np.ndarray, config: SignatureConfig
) -> BatchSignatures:
    import rensa

    from dedup.shingles import shingles

    tok = token_hashes(flat, "numpy" if not HAVE_NUMBA else "auto")
    sigs = np.full((len(token_lists), config.num_perm), MAX_HASH, dtype=np.uint64)
    counts = np.zeros(len(token_lists), dtype=np.int64)
    for d, words in enumerate(token_lists.to_pylist()):
        grams = shingles(words or [], config.ngram)
        counts[d] = len(grams)
        if grams:
            m = rensa.RMinHash(num_perm=config.num_perm, seed=config.seed)
            m.update(grams)
            sigs[d] = np.asarray(m.digest(), dtype=np.uint64)
    return BatchSignatures(sigs, counts, document_hashes(tok, doc_offsets).view(np.int64), config.metadata)


if HAVE_NUMBA:
    import numba

    @numba.njit(cache=True, nogil=True)
    def _minhash_nb(h, offsets, a, b, out):
        p = np.uint64(MERSENNE)
        mask = np.uint64(MAX_HASH)
        perms = len(a)
        for d in range(len(offsets) - 1):
            acc = out[d]
            for i in range(offsets[d], offsets[d + 1]):
                x = h[i]
                for k in range(perms):
                    v = x * a[k] + b[k]
                    v = (v & p) + (v >> np.uint64(61))
                    if v >= p:
                        v -= p
                    v &= mask
                    if v < acc[k]:
                        acc[k] = v
