"""corpus: the document record, readers (WARC, WET, JSONL/Dolma, Parquet, MediaWiki), writers, and the
synthetic temporal world."""
