"""The site's search, typed as a reader would: Chinese phrases without spaces (segmented in the
browser by coursebook.sphinx.zh_search) and English words, each required to find its chapter.

The query goes through the search page (search.html?q=...), as the search box sends it, and the
results are read from the page once Sphinx has listed them all.
"""

from __future__ import annotations

from urllib.parse import quote

# query -> the chapter page it must find (others may come too). Chinese phrases as a reader types
# them (no spaces, mixed with Latin letters), English words, stemmed by Sphinx.
QUERIES = {
    "旋转位置编码": "notebooks/zh/06_rope",
    "位置编码": "notebooks/zh/06_rope",
    "多头注意力": "notebooks/zh/05_heads",
    "分组查询注意力": "notebooks/zh/05_heads",
    "KV缓存": "notebooks/zh/08_inference",
    "束搜索": "notebooks/zh/08_inference",
    "梯度累积": "notebooks/zh/07_training",
    "缩放定律": "notebooks/zh/09_scale",
    "量化": "notebooks/zh/01_parameters",
    "因果掩码": "notebooks/zh/03_tokens",
    "rotary": "notebooks/en/06_rope",
    "RoPE": "notebooks/en/06_rope",
    "grouped-query attention": "notebooks/en/05_heads",
    "KV cache": "notebooks/en/08_inference",
    "beam search": "notebooks/en/08_inference",
    "gradient accumulation": "notebooks/en/07_training",
    "scaling law": "notebooks/en/09_scale",
    "quantization": "notebooks/en/01_parameters",
    "tokenizer": "notebooks/en/03_tokens",
}

# Sphinx lists results one by one; it is done when the summary under them is written.
DONE = """() => typeof Search !== "undefined" && !!Search.status && Search.status.innerText.trim() !== "" """

RESULTS = """() => Array.from(document.querySelectorAll("#search-results ul.search li a"))
  .map(a => a.getAttribute("href"))"""


def search(page, base: str, query: str) -> list[str]:
    """The pages the site's search lists for query, best first, as document names."""
    page.goto(f"{base}search.html?q={quote(query)}", wait_until="load", timeout=30_000)
    page.wait_for_function(DONE, timeout=30_000)
    docs = []
    for href in page.evaluate(RESULTS):
        doc = href.split("#")[0].split("?")[0].removesuffix(".html")
        if doc not in docs:
            docs.append(doc)
    return docs


def check_search(page, base: str, queries: dict[str, str] = QUERIES) -> tuple[list[str], list[str]]:
    """(problems, report lines): every query must list its chapter."""
    problems, lines = [], []
    for query, want in queries.items():
        docs = search(page, base, query)
        rank = docs.index(want) + 1 if want in docs else None
        lines.append(
            f"  {query:26s} {len(docs):3d} pages  {want}: " + (f"found, result {rank}" if rank else "NOT FOUND")
        )
        if rank is None:
            problems.append(f"search {query!r} does not find {want} ({len(docs)} pages found)")
    return problems, lines
