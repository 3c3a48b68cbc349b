"""How far a page's own language tag can be trusted, and what heeding it changes, on real pages.

Pages: the 200 worldwide news pages of ../shared/data/dating (HTML, no language labels) and the HTML
responses of the sample WARCs in ../shared/data/warc, read by chronomix's WARC reader. For each page, the
declared tag (corpus.html_text.declared_language: `<html lang>`, else HTTP Content-Language) is set beside
the language identified from the page's main text by the ensemble without the tag, and the ensemble with it
(mixers/langid_declared.py). The bench prints:
- how many pages declare a language, and how many of those the detectors agree with;
- every disagreement, with fastText's probability for the declared language;
- every page whose language the declaration changed.
No gold labels exist for these pages: a disagreement is judged by reading the page (its text and its site)
and the judgement is written down beside the figures (README).

Run: python bench/langid_declared.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.html_text import declared_language, decode_payload, parse_html, tree_to_text  # noqa: E402
from corpus.readers import ReadOptions, read_documents  # noqa: E402
from corpus.stats import RejectLog  # noqa: E402
from mixers.langid import LangIdConfig, identify, load_fasttext, normalise_prefix, predict_top_k  # noqa: E402
from mixers.langid_declared import declared_code  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def news_pages() -> list[tuple[str, str, str | None]]:
    """(url, main text, declared tag) of the 200 gold-dated news pages."""
    folder = SHARED / "dating"
    pages = []
    for url, entry in json.loads((folder / "eval_mediacloud_2020.json").read_text()).items():
        body = gzip.decompress((folder / "pages" / f"{entry['file']}.gz").read_bytes())
        tree = parse_html(decode_payload(body, None, True).text)
        pages.append((url, tree_to_text(tree)[0], declared_language(tree, None)))
    return pages


def warc_pages() -> list[tuple[str, str, str | None]]:
    """(url, text, declared tag) of the sample WARCs' HTML responses, as ingest reads them."""
    pages = []
    for path in sorted((SHARED / "warc").glob("*.warc.gz")):
        for batch in read_documents(str(path), ReadOptions(), RejectLog()):
            for row in batch.to_pylist():
                pages.append((row["url"] or "", row["text"], row["declared_lang"]))
    return pages


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    if not (SHARED / "dating").is_dir() or not (SHARED / "warc").is_dir():
        sys.exit(f"langid_declared: {SHARED} is absent (the real sample pages; see ../shared/data/README.md)")
    config = LangIdConfig()
    model = load_fasttext(config.resolved_model_path)
    for name, pages in (("news pages (dating set)", news_pages()), ("sample WARCs", warc_pages())):
        urls, texts, tags = zip(*pages, strict=True)
        alone = identify(texts, config)
        heeded = identify(texts, config, tags)
        tops = predict_top_k(model, [normalise_prefix(t, config.prefix_chars) for t in texts], config.top_k)
        verdicts: Counter[str] = Counter()
        print(f"\n{name}: {len(pages)} pages")
        for url, tag, before, after, top in zip(urls, tags, alone, heeded, tops, strict=True):
            code = declared_code(tag)
            verdict = "no tag" if code is None else "agree" if code == before.lang else "disagree"
            verdicts[verdict] += 1
            if verdict == "disagree" or before.lang != after.lang:
                changed = f" -> {after.lang} ({after.detector})" if before.lang != after.lang else ""
                print(
                    f"  declared {tag!s:8} detected {before.lang} {before.score:.2f} ({before.detector})"
                    f"{changed}; fastText p(declared) {dict(top).get(code or '', 0.0):.3f}  {url[:70]}"
                )
        changed = sum(b.lang != a.lang for b, a in zip(alone, heeded, strict=True))
        print(
            f"  declare a language: {len(pages) - verdicts['no tag']}; detectors agree: {verdicts['agree']}, "
            f"disagree: {verdicts['disagree']}; language changed by heeding the tag: {changed}"
        )


if __name__ == "__main__":
    main()
