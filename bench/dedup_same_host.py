"""Dedup's same-host threshold on real pages: does a site's template still merge its distinct pages?

The sample WARCs of ../shared/data/warc are read by the ingest reader (corpus.readers, as `chronomix ingest`
reads them) and deduplicated in one process (dedup.local, the Spark job's reference; default options but
for the same-host threshold), once per value of it. The value equal to the plain threshold (0.5) is the
control: the rule off, as dedup ran before it.

Truth where the pages give it: the 29 ClueWeb09 shop pages name their product in the URL
(`/shopdetail/<12 digits>/`, then a category path), so two of them are one product when those digits agree.
Per value the bench prints, on all sample pages: clusters of two or more documents, the largest cluster, and
the documents keep-newest drops; on the shop pages: the pairs put in one cluster, pairwise precision and
recall against "same product", and the share of the shop's page pairs whose estimated Jaccard similarity
reaches the value (what the template alone does). First, each host's template similarity
(dedup.site_templates: the median over pairs of a sample of its texts) and whether it is template-heavy.

Then the same table twice with wrapped copies added (tests.dedup.helpers.wrapped_copies: a banner before the
text and a line after it, on another host, as a mirror or a cache serves them): one shop page copied, then all
29. A copy's product is its original's; precision and recall are over the shop pages and the copies, and
"carriers" counts the texts found carrying a template-heavy host's template (dedup.template_carriers). Last,
the shop's page pairs at 0.80 or above.

Run: python bench/dedup_same_host.py [--values 0.5,0.7,0.8,0.9,1.0]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from corpus.readers import ReadOptions, read_documents  # noqa: E402
from corpus.stats import RejectLog  # noqa: E402
from dedup.evaluate import pair_scores  # noqa: E402
from dedup.kernel import HOST_KEY, SKETCH, DedupConfig, dedup_kernel  # noqa: E402
from dedup.local import dedup_table, text_graph  # noqa: E402
from dedup.lsh import LshConfig  # noqa: E402
from dedup.site_templates import (  # noqa: E402
    MIN_SITE_TEXTS,
    TEMPLATE_SAMPLE,
    template_hosts,
    template_similarity,
)
from dedup.verify import row_similarity, sketch_matrix  # noqa: E402
from dedup.versions import TEXT_HASH  # noqa: E402
from tests.dedup.helpers import wrapped_copies  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "warc"
SHOP = "resiliparse_clueweb09-ja-quirk.warc.gz"
PRODUCT = re.compile(r"/shopdetail/(\d{12})/")


def read_pages() -> pa.Table:
    """Every response page of the sample WARCs, as the ingest reader makes documents of them."""
    tables = []
    for path in sorted(SHARED.glob("*.warc.gz")):
        batches = list(read_documents(str(path), ReadOptions(), RejectLog()))
        tables.extend(pa.Table.from_batches([b]) for b in batches if b.num_rows)
    return pa.concat_tables(tables, promote_options="default")


def print_hosts(pages: pa.Table) -> None:
    """Each host's template similarity (dedup.site_templates, on dedup's host keys), where it has enough
    texts to measure, and dedup's verdict (template_hosts, the function dedup itself calls)."""
    config = DedupConfig()
    annotated = dedup_kernel(config)(pages.combine_chunks().to_batches()[0])
    hashes = annotated.column(TEXT_HASH).to_numpy()
    texts, first = np.unique(hashes, return_index=True)
    sketches = sketch_matrix(annotated.column(SKETCH), config.signature.num_perm)
    has_host = annotated.column(HOST_KEY).is_valid().to_numpy(zero_copy_only=False)
    hosts = annotated.column(HOST_KEY).to_numpy(zero_copy_only=False)[has_host].astype(np.int64)
    text_of_row = np.searchsorted(texts, hashes)[has_host]
    heavy = set(template_hosts(hosts, text_of_row, sketches, first, config.lsh.threshold).tolist())
    names = np.array([u.split("/")[2] for u in pages.column("url").to_pylist() if u], dtype=object)
    for host in np.unique(hosts):
        members = np.unique(text_of_row[hosts == host])
        if len(members) >= MIN_SITE_TEXTS:
            similarity = template_similarity(sketches[first[members[:TEMPLATE_SAMPLE]]])
            verdict = "template-heavy" if host in heavy else "not"
            name = names[np.flatnonzero(hosts == host)[0]]
            print(f"host {name}: {len(members)} texts, template similarity {similarity:.3f} ({verdict})")


def print_mirrored(pages: pa.Table, shop: np.ndarray, values: list[float], copied: int) -> None:
    """The table again with the first `copied` shop pages also served, wrapped, by mirror.example."""
    ids = np.array(pages.column("id").to_pylist(), dtype=object)[shop][:copied].tolist()
    table = pa.concat_tables([pages, wrapped_copies(pages, ids, "mirror.example")])
    of_page = {
        doc_id: m[1]
        for doc_id, url in zip(pages.column("id").to_pylist(), pages.column("url").to_pylist(), strict=True)
        if (m := PRODUCT.search(url or ""))
    }
    # a copy's product is its original's (its id is "mirror.example/<the original's id>")
    product = [
        of_page.get(doc_id.removeprefix("mirror.example/")) for doc_id in table.column("id").to_pylist()
    ]
    scored = [i for i, p in enumerate(product) if p]
    annotated = pa.Table.from_batches([dedup_kernel(DedupConfig())(b) for b in table.to_batches()])
    print(
        f"with {copied} wrapped cop{'y' if copied == 1 else 'ies'} of shop pages on mirror.example "
        f"({len(scored)} shop documents scored):"
    )
    print(
        f"{'same-host':>10}{'clusters 2+':>13}{'largest':>9}{'dropped':>9}{'precision':>11}{'recall':>8}{'carriers':>10}"
    )
    for value in values:
        config = DedupConfig(lsh=LshConfig(same_host_threshold=value))
        out = dedup_table(table, config, keep="newest")
        clusters = out.column("cluster_id").to_pylist()
        sizes = Counter(clusters)
        dropped = out.num_rows - sum(out.column("_keep").to_pylist())
        scores = pair_scores([product[i] for i in scored], [clusters[i] for i in scored])
        carriers = text_graph(annotated, config).template_carriers
        print(
            f"{value:>10.2f}{sum(s > 1 for s in sizes.values()):>13}{max(sizes.values()):>9}{dropped:>9}"
            f"{scores.precision:>11.3f}{scores.recall:>8.3f}{carriers:>10}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--values", default="0.5,0.7,0.8,0.9,1.0", help="same-host thresholds, comma-separated"
    )
    args = parser.parse_args()
    if not (SHARED / SHOP).is_file():
        sys.exit(f"dedup_same_host: {SHARED} is absent (the real sample pages; see ../shared/data/README.md)")
    values = [float(v) for v in args.values.split(",")]
    pages = read_pages()
    urls = pages.column("url").to_pylist()
    shop = np.array([PRODUCT.search(u or "") is not None for u in urls])
    products = [m[1] for u in np.array(urls, dtype=object)[shop] if (m := PRODUCT.search(u))]
    annotated = dedup_kernel(DedupConfig())(pages.filter(pa.array(shop)).combine_chunks().to_batches()[0])
    sketch = sketch_matrix(annotated.column(SKETCH), DedupConfig().signature.num_perm)
    left, right = np.triu_indices(len(products), 1)
    similarity = row_similarity(sketch, left, right)
    print(
        f"{len(pages)} pages ({int(shop.sum())} shop pages of one host, {len(set(products))} products); "
        f"shop page pairs' estimated Jaccard: median {np.median(similarity):.3f}, "
        f"90th percentile {np.quantile(similarity, 0.9):.3f}, max {similarity.max():.3f}"
    )
    print_hosts(pages)
    print(
        f"{'same-host':>10}{'clusters 2+':>13}{'largest':>9}{'dropped':>9}"
        f"{'shop pairs':>12}{'precision':>11}{'recall':>8}{'pairs >= value':>16}"
    )
    for value in values:
        config = DedupConfig(lsh=LshConfig(same_host_threshold=value))
        out = dedup_table(pages, config, keep="newest")
        sizes = Counter(out.column("cluster_id").to_pylist())
        dropped = out.num_rows - sum(out.column("_keep").to_pylist())
        clusters = np.array(out.column("cluster_id").to_pylist(), dtype=object)[shop]
        scores = pair_scores(products, clusters.tolist())
        print(
            f"{value:>10.2f}{sum(s > 1 for s in sizes.values()):>13}{max(sizes.values()):>9}{dropped:>9}"
            f"{scores.predicted_pairs:>12}{scores.precision:>11.3f}{scores.recall:>8.3f}"
            f"{(similarity >= value).mean():>16.3f}"
        )
    print("control: same-host 0.50 (the plain threshold): the rule off")
    for copied in (1, int(shop.sum())):
        print_mirrored(pages, shop, values, copied)
    print("shop page pairs at 0.80 or above (estimated Jaccard, product numbers):")
    for k in np.flatnonzero(similarity >= 0.8)[np.argsort(-similarity[similarity >= 0.8], kind="stable")]:
        a, b = products[left[k]], products[right[k]]
        print(f"  {similarity[k]:.3f}  {a} {b}  {'same product' if a == b else 'two products'}")


if __name__ == "__main__":
    main()
