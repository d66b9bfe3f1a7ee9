"""A page of the book as a reader sees it: code and output blocks that fit their column at
1280 px, no sideways scrolling of the page on a phone (390 px), a table of contents that names
its sections (no heading three times or more), and a chapter page that opens with its title and
"What you will learn", its setup cells folded, no maintainer's note.

Widths are measured, not guessed: for every <pre> (code, outputs, code in prose) and every HTML
output, its scrollWidth against its clientWidth, with every folded block (solutions, the setup
cells) opened for the measurement and closed again.
"""

from __future__ import annotations

# Blocks wider than their box by more than this many pixels count as scrolling sideways (a
# rounding pixel is not an overflow).
SLACK = 1

# Every code/output block of the article: {kind, client, scroll, lines, longest, text}.
BLOCK_WIDTHS = """() => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  if (!article) return {column: 0, blocks: []};
  const closed = Array.from(article.querySelectorAll("details:not([open])"));
  closed.forEach(d => { d.open = true; });
  const blocks = [];
  const seen = new Set();
  article.querySelectorAll("pre, .cell_output .output.text_html").forEach(el => {
    if (seen.has(el)) return;
    seen.add(el);
    if (el.closest(".kit-quiz")) return;  // the quiz lays out its own code
    const kind = el.closest(".cell_input") ? "code" : el.closest(".cell_output") ? "output" : "prose";
    const text = el.innerText || "";
    const lines = text.split("\\n");
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), "");
    blocks.push({kind, client: el.clientWidth, scroll: el.scrollWidth, lines: lines.length,
                 longest: longest.length, longestLine: longest.slice(0, 200), text: text.slice(0, 4000)});
  });
  closed.forEach(d => { d.open = false; });
  return {column: article.clientWidth, blocks};
}"""

# The entries of the page's own table of contents (the secondary sidebar), in order.
TOC_ENTRIES = """() => Array.from(document.querySelectorAll(
    "#pst-page-navigation-heading-2 ~ ul a, .bd-sidebar-secondary nav.page-toc a, .bd-toc-nav a"))
  .map(a => a.textContent.replace(/\\s+/g, " ").trim()).filter(t => t)"""

# A chapter page's opening: what is visible between the title and the first section heading.
OPENING = """() => {
  const h1 = document.querySelector("article h1");
  if (!h1) return null;
  const section = h1.closest("section");
  const firstH2 = section ? section.querySelector("section h2") : null;
  const visible = el => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null;
  const before = [];
  let setupFolded = null;
  if (section) {
    for (const child of section.children) {
      if (child.tagName === "SECTION") break;
      before.push(child);
    }
  }
  const codeBefore = before.flatMap(el => Array.from(el.querySelectorAll(".cell_input"))
      .concat(el.matches(".cell_input") ? [el] : [])).filter(visible).length;
  const setup = document.querySelector("details.setup-cells");
  if (setup) setupFolded = !setup.open;
  const text = (document.querySelector("article") || document.body).innerText;
  return {
    firstSection: firstH2 ? firstH2.textContent.replace(/[#¶]/g, "").trim() : null,
    codeBefore, setupFolded,
    maintainerNote: /edit the script|not this cell|Written by scripts\\//i.test(text),
  };
}"""

# Does the page scroll sideways? (phone viewport)
PAGE_SCROLLS = """() => ({
  width: document.documentElement.clientWidth,
  scroll: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
})"""


def block_widths(page) -> dict:
    """{column, blocks, wide}: every block measured; wide are those scrolling sideways."""
    found = page.evaluate(BLOCK_WIDTHS)
    found["wide"] = [b for b in found["blocks"] if b["scroll"] > b["client"] + SLACK]
    return found


def repeated_headings(page, times: int = 3) -> list[tuple[str, int]]:
    """Table-of-contents entries that occur `times` times or more on the page."""
    entries = page.evaluate(TOC_ENTRIES)
    counts: dict[str, int] = {}
    for entry in entries:
        # a numbered heading ("3. Question") repeats in words, not in number
        words = entry.split(". ", 1)[1] if entry[:1].isdigit() and ". " in entry else entry
        counts[words] = counts.get(words, 0) + 1
    return [(text, n) for text, n in counts.items() if n >= times]


def opening_problems(page, edition: str) -> list[str]:
    """A chapter page opens with its title and the first section ("What you will learn"); the
    setup cells (install, device) are folded; no maintainer's note shows."""
    found = page.evaluate(OPENING)
    if found is None:
        return ["no <h1> title in the article"]
    problems = []
    if found["codeBefore"]:
        problems.append(
            f"{found['codeBefore']} code cell(s) show between the title and the first section "
            f"({found['firstSection']!r}): the setup cells should be folded (coursebook.sphinx.pages)"
        )
    if found["setupFolded"] is False:
        problems.append("the setup cells' fold is open on load")
    if found["maintainerNote"]:
        problems.append("a maintainer's note shows on the page ('edit the script', 'not this cell')")
    return problems


def page_scrolls_sideways(page) -> int:
    """Pixels by which the page is wider than the viewport (0: it does not scroll sideways)."""
    found = page.evaluate(PAGE_SCROLLS)
    return max(0, found["scroll"] - found["width"] - SLACK)


# Section anchors docutils numbers when a title has no ASCII letters: id1, id2, ...
NUMBERED_ANCHORS = """() => Array.from(document.querySelectorAll("article section[id]"))
  .map(s => s.id).filter(id => /^id\\d+$/.test(id))"""


def numbered_anchors(page) -> list[str]:
    """The page's section ids of the form id1, id2, ... (unreadable in a link)."""
    return page.evaluate(NUMBERED_ANCHORS)
