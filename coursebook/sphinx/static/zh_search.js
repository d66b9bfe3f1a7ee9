/*
 * Chinese queries, segmented the way the search index was (coursebook.sphinx.zh_search).
 *
 * The index is cut into words by jieba (html_search_language: zh), but Sphinx's searchtools.js
 * splits a query only at spaces and punctuation: 旋转位置编码 is one term that no page has, while
 * the pages hold 旋转, 位置 and 编码. Here every run of Chinese characters in the query is cut
 * into words of the index itself (its terms and title terms: the dictionary is the index, so it
 * cannot go stale), choosing the cut that leaves the fewest characters outside any word, then the
 * fewest words (jieba's coarse cut of the same text, as far as the index tells). A character that
 * starts no word is dropped, as the index drops one-character words. Latin words go through
 * Sphinx's own splitter and stemmer unchanged: English queries work as before.
 *
 * Sphinx keeps a page that has every term of three letters or more and ignores shorter ones;
 * most Chinese words have two characters, so a page must also hold every Chinese word of the query
 * (performTermsSearch is wrapped below).
 */
(() => {
  "use strict";
  const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;
  const RUNS = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/gu;
  const latinSplit = (query) =>
    query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu).filter((term) => term);

  let dictionary = null; // {words: Set, longest: number}, built from the index on first use

  function words() {
    if (dictionary) return dictionary;
    const index = typeof Search !== "undefined" ? Search._index : null;
    if (!index) return null;
    const set = new Set();
    let longest = 1;
    for (const table of [index.terms, index.titleterms]) {
      for (const term of Object.keys(table || {})) {
        if (HAN.test(term)) {
          set.add(term);
          longest = Math.max(longest, term.length);
        }
      }
    }
    dictionary = { words: set, longest };
    return dictionary;
  }

  // The cut of one run of Chinese characters: fewest characters left out, then fewest words.
  function segment(run, dict) {
    const n = run.length;
    const best = new Array(n + 1).fill(null);
    best[0] = { missed: 0, count: 0, from: -1, word: false };
    const better = (a, b) => !b || a.missed < b.missed || (a.missed === b.missed && a.count < b.count);
    for (let i = 0; i < n; i++) {
      if (!best[i]) continue;
      const skip = { missed: best[i].missed + 1, count: best[i].count, from: i, word: false };
      if (better(skip, best[i + 1])) best[i + 1] = skip;
      for (let j = i + 2; j <= Math.min(n, i + dict.longest); j++) {
        if (!dict.words.has(run.slice(i, j))) continue;
        const take = { missed: best[i].missed, count: best[i].count + 1, from: i, word: true };
        if (better(take, best[j])) best[j] = take;
      }
    }
    const out = [];
    for (let j = n; j > 0; j = best[j].from) {
      if (best[j].word) out.unshift(run.slice(best[j].from, j));
    }
    return out.length ? out : [run]; // no word of the index in it: let Sphinx try it whole
  }

  function splitChinese(query) {
    const dict = words();
    const terms = [];
    for (const token of latinSplit(query)) {
      for (const run of token.match(RUNS) || []) {
        if (HAN.test(run) && dict) terms.push(...segment(run, dict));
        else terms.push(run);
      }
    }
    return terms;
  }

  // searchtools.js reads the global splitQuery when a query runs, and defines its own only when
  // none exists: this works whether it loads before or after this file.
  window.splitQuery = splitChinese;

  function pagesWith(term) {
    const index = Search._index;
    const pages = new Set();
    const add = (files) => {
      if (files === undefined) return;
      (Array.isArray(files) ? files : [files]).forEach((f) => pages.add(f));
    };
    for (const table of [index.terms, index.titleterms]) {
      if (Object.prototype.hasOwnProperty.call(table, term)) add(table[term]);
      else if (term.length > 2) {
        // Sphinx's partial match: a longer term of the index that contains this one
        for (const key of Object.keys(table)) if (key.includes(term)) add(table[key]);
      }
    }
    return pages;
  }

  function requireEveryChineseWord() {
    if (typeof Search === "undefined" || Search._zhWrapped) return;
    const original = Search.performTermsSearch;
    Search.performTermsSearch = (searchTerms, excludedTerms) => {
      const results = original(searchTerms, excludedTerms);
      const chinese = [...searchTerms].filter((term) => HAN.test(term));
      if (!chinese.length) return results;
      const docIndex = new Map(Search._index.docnames.map((name, i) => [name, i]));
      const pages = chinese.map(pagesWith);
      return results.filter((result) => pages.every((set) => set.has(docIndex.get(result[0]))));
    };
    Search._zhWrapped = true;
  }

  if (typeof Search !== "undefined") requireEveryChineseWord();
  else document.addEventListener("DOMContentLoaded", requireEveryChineseWord);
})();
