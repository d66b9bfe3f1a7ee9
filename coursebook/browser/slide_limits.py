"""The limits a lecture slide keeps, measured in the browser at 1280x720 (CONTRIBUTING, rule 17).

For every content slide of a deck (the title slide is made from the front matter and not counted):

* words: the text under the heading, outside the speaker notes, code and output blocks, at most
  WORDS (the last slide, the exercises and what comes next, WORDS_LAST); a formula counts as one
  word; zh text counts its CJK characters / 1.7 plus its Latin words. The heading on its own, at
  most HEADING_WORDS;
* code and printed output rendered at MIN_CODE_PX or larger (computed size times reveal.js's scale);
* nothing overflows: every element inside the 1280x720 slide, no content wider than its box;
* no text ends in a colon (":" or "："), the heading's or the body's: a colon points at something,
  and a slide's text is read without what it points at in the notes;
* speaker notes on every slide; and per deck at least one figure, every figure loaded.

`check_slides` returns the problems and the measurements the report prints (words per slide,
figures, the share of the slide the largest figure covers).
"""

from __future__ import annotations

import statistics

WORDS, WORDS_LAST, HEADING_WORDS = 40, 45, 12
MIN_CODE_PX = 20
SLIDE_W, SLIDE_H = 1280, 720

MEASURE = r"""() => {
  const CJK = /[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]/g;
  const zh = document.documentElement.lang.startsWith("zh");
  const count = (text) => {
    const cjk = (text.match(/[\u2e80-\u9fff\uf900-\ufaff]/g) || []).length;
    const latin = text.replace(CJK, " ").split(/\s+/).filter(w => /[\p{L}\p{N}]/u.test(w)).length;
    return zh ? cjk / 1.7 + latin : latin;
  };
  const textOf = (el) => {
    if (!el) return "";
    const c = el.cloneNode(true);
    c.querySelectorAll("aside.notes, pre, .code-block, img, .katex-mathml").forEach(e => e.remove());
    c.querySelectorAll(".katex").forEach(e => e.replaceWith(" formula "));
    return c.textContent.replace(/\s+/g, " ").trim();
  };
  const BLOCKS = ["PRE", "DIV", "P", "LI", "UL", "OL", "TABLE"];
  const box = document.querySelector(".reveal .slides").getBoundingClientRect();
  const scale = Reveal.getScale();
  const sections = Array.from(document.querySelectorAll(".reveal .slides > section"));
  return sections.map((s, i) => {
    Reveal.slide(i);
    const out = {index: i, problems: []};
    const h2 = s.querySelector("h2");
    const text = s.querySelector(".text");
    out.heading = textOf(h2);
    out.body = textOf(text);
    out.headingWords = count(out.heading);
    out.words = count(out.body);
    out.notes = (s.querySelector("aside.notes") || {textContent: ""}).textContent.trim().length;
    const lastText = text ? Array.from(text.querySelectorAll("p, li")).map(textOf).filter(t => t).pop() : "";
    out.colon = [out.heading, lastText || ""].some(t => /[:：]\s*$/.test(t));
    out.code = Array.from(s.querySelectorAll("pre")).map(p => parseFloat(getComputedStyle(p).fontSize) * scale);
    out.figures = Array.from(s.querySelectorAll("img")).map(img => {
      const r = img.getBoundingClientRect();
      const k = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
      const shown = img.naturalWidth ? k * img.naturalWidth * k * img.naturalHeight : 0;
      return {loaded: img.naturalWidth > 0, share: shown / (box.width * box.height)};
    });
    const overflow = [];
    s.querySelectorAll("*").forEach(el => {
      if (el.closest("aside.notes") || el.closest(".katex")) return;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) return;
      const cls = typeof el.className === "string" && el.className ? "." + el.className.split(" ")[0] : "";
      const name = el.tagName.toLowerCase() + cls;
      const [x0, x1] = [r.left - box.left, r.right - box.left].map(Math.round);
      const [y0, y1] = [r.top - box.top, r.bottom - box.top].map(Math.round);
      if (x0 < -1 || y0 < -1 || x1 > box.width + 1 || y1 > box.height + 1)
        overflow.push(`${name} reaches outside the slide (${x0}, ${y0} to ${x1}, ${y1})`);
      else if (BLOCKS.includes(el.tagName) && el.scrollWidth > el.clientWidth + 2)
        overflow.push(`${name}'s content is wider than its box (${el.scrollWidth} px in ${el.clientWidth} px)`);
    });
    out.overflow = overflow.slice(0, 3);
    return out;
  });
}"""


def check_slides(page) -> tuple[list[str], dict]:
    """(problems, measurements) of the deck open in `page` (reveal.js ready, viewport 1280x720)."""
    slides = page.evaluate(MEASURE)
    page.evaluate("Reveal.slide(0)")
    problems: list[str] = []
    content = slides[1:]
    for k, s in enumerate(content, 1):
        at = f"slide {k + 1} ({s['heading'][:40]!r})"
        limit = WORDS_LAST if k == len(content) else WORDS
        if s["words"] > limit + 0.5:
            problems.append(
                f"{at}: {s['words']:.0f} words under the heading, at most {limit}: move the rest to the notes"
            )
        if s["headingWords"] > HEADING_WORDS + 0.5:
            problems.append(f"{at}: a heading of {s['headingWords']:.0f} words, at most {HEADING_WORDS}")
        if s["colon"]:
            problems.append(f"{at}: its text ends in a colon; say what the figure or block shows instead")
        small = [px for px in s["code"] if px < MIN_CODE_PX - 0.01]
        if small:
            problems.append(f"{at}: code or output at {min(small):.1f} px, at least {MIN_CODE_PX} px at 1280x720")
        for o in s["overflow"]:
            problems.append(f"{at}: {o}")
        if not s["notes"]:
            problems.append(f"{at}: no speaker notes (a `Note:` section)")
        if any(not f["loaded"] for f in s["figures"]):
            problems.append(f"{at}: a figure did not load")
    for o in slides[0]["overflow"]:
        problems.append(f"the title slide: {o}")
    figures = [f for s in content for f in s["figures"]]
    if not figures:
        problems.append("no figure in the deck: show the chapter's figures that carry an argument")
    words = [s["words"] for s in content]
    code = [px for s in content for px in s["code"]]
    info = {
        "slides": len(content),
        "words_median": statistics.median(words) if words else 0,
        "words_max": max(words, default=0),
        "with_heading_max": max((s["words"] + s["headingWords"] for s in content), default=0),
        "figures": len(figures),
        "figure_share_max": max((f["share"] for f in figures), default=0.0),
        "figure_share_median": statistics.median([f["share"] for f in figures]) if figures else 0.0,
        "code_px_min": min(code, default=0.0),
    }
    return problems, info


def summary(info: dict) -> str:
    return (
        f"{info['slides']} slides, words {info['words_median']:.0f} median / {info['words_max']:.0f} max "
        f"({info['with_heading_max']:.0f} with the heading), {info['figures']} figures "
        f"(largest {info['figure_share_max']:.0%} of the slide), code >= {info['code_px_min']:.0f} px"
    )
