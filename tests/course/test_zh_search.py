"""The site's Chinese search (coursebook/sphinx/static/zh_search.js), run in Chromium on a small
index: phrases typed without spaces are cut into the index's own words, English goes through
Sphinx's splitter unchanged, and a page must hold every Chinese word of the query."""

from __future__ import annotations

import pytest

from coursebook.browser.chromium import find_chromium
from coursebook.sphinx.zh_search import SCRIPT, STATIC

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium (coursebook ensure-chromium)")

# A miniature of Sphinx's searchindex.js: terms -> page numbers, as jieba's cut_for_search leaves
# them (旋转位置编码 is not a term; its words are). performTermsSearch mimics Sphinx's lax rule: a
# page that has every term of three letters or more passes.
PAGE = """<html><body><script>
const Search = {
  _index: {
    docnames: ["rope", "heads", "other"],
    terms: {"旋转": [0, 2], "位置": [0, 2], "编码": 0, "多头": 1, "注意力": [1, 2], "注意": [1, 2],
            "缓存": 1, "kv": 1, "rotari": 0},
    titleterms: {"位置": 0},
  },
  performTermsSearch: (searchTerms) => {
    const pages = new Set();
    for (const t of searchTerms) {
      const f = Search._index.terms[t];
      if (f === undefined) continue;
      (Array.isArray(f) ? f : [f]).forEach((p) => pages.add(p));
    }
    return [...pages].map((p) => [Search._index.docnames[p], "", "", null, 1, ""]);
  },
};
</script></body></html>"""


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    from coursebook.browser.chromium import launch

    with sync_playwright() as p:
        browser, _ = launch(p)
        page = browser.new_page()
        page.set_content(PAGE)
        page.add_script_tag(content=(STATIC / SCRIPT).read_text(encoding="utf-8"))
        yield page
        browser.close()


@pytest.mark.parametrize(
    "query, words",
    [
        ("旋转位置编码", ["旋转", "位置", "编码"]),
        ("多头注意力", ["多头", "注意力"]),  # the longest words: 注意力, not 注意 + 力
        ("KV缓存", ["KV", "缓存"]),  # Latin letters and Chinese split apart
        ("旋转的位置", ["旋转", "位置"]),  # 的 starts no word: dropped, as the index drops it
        ("rotary embedding", ["rotary", "embedding"]),  # English: Sphinx's own splitter
        ("门", ["门"]),  # no word of the index in it: looked up whole
    ],
)
def test_a_query_is_cut_into_the_index_words(page, query, words):
    assert page.evaluate("q => splitQuery(q)", query) == words


def test_a_page_must_hold_every_chinese_word(page):
    found = page.evaluate("() => Search.performTermsSearch(new Set(['多头', '注意力']), new Set()).map(r => r[0])")
    assert found == ["heads"]  # "other" has 注意力 but not 多头
    found = page.evaluate("() => Search.performTermsSearch(new Set(['rotari']), new Set()).map(r => r[0])")
    assert found == ["rope"]  # no Chinese word: Sphinx's results unchanged
