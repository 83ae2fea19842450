// Search over the static site with Pagefind's index (built by `pln build` into search/pagefind/,
// in parts).
// Results come as days, and under each day the entries that match; a person filter keeps only
// that person's entries (their anchors start with the person's slug).

const form = document.getElementById("search-form");
const input = document.getElementById("search-q");
const topicSelect = document.getElementById("search-topic");
const personSelect = document.getElementById("search-person");
const statusLine = document.getElementById("search-status");
const list = document.getElementById("search-results");
const moreButton = document.getElementById("search-more");

const PAGE_SIZE = 10;
const siteRoot = new URL("../", window.location.href);
let pagefind = null;
let current = { results: [], shown: 0, token: 0 };

// G (review finding 5): opened from disk (file://), the browser refuses the index and search
// cannot work: say what to do rather than nothing. That is why this file is a classic script,
// not a module: a module is refused there too, and could not say it.
const FROM_DISK = window.location.protocol !== "file:" ? "" : "Search works only when the "
  + "site is served, not opened as a file: run `pln serve` and open the address it prints.";
if (FROM_DISK) statusLine.textContent = FROM_DISK;

// The index comes in parts (aggregator/searchindex.py): the newest in pagefind/, the older
// ones listed in pagefind/parts.json; each is merged in, so a search covers the whole archive.
async function olderParts() {
  try {
    const response = await fetch(new URL("pagefind/parts.json", window.location.href));
    if (!response.ok) return [];
    const listed = await response.json();
    return Array.isArray(listed.parts) ? listed.parts : [];
  } catch {
    return []; // an index from before parts: the primary alone
  }
}

async function loadPagefind() {
  if (pagefind) return pagefind;
  try {
    const engine = await import(new URL("pagefind/pagefind.js", window.location.href).href);
    await engine.options({ baseUrl: siteRoot.pathname });
    const parts = await olderParts();
    await Promise.all(parts.map((part) => engine.mergeIndex(
      new URL(`pagefind/${part}`, window.location.href).pathname,
      { baseUrl: siteRoot.pathname },
    )));
    pagefind = engine;
  } catch (error) {
    statusLine.textContent = "The search index is missing: run `pln build` again, and preview with `pln serve`.";
    throw error;
  }
  return pagefind;
}

// Pagefind marks matches with <mark>; keep those and plain text, nothing else.
function excerptNodes(html) {
  const fragment = document.createDocumentFragment();
  const parsed = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html");
  for (const node of parsed.body.firstChild.childNodes) {
    if (node.nodeName === "MARK") {
      const mark = document.createElement("mark");
      mark.textContent = node.textContent;
      fragment.append(mark);
    } else {
      fragment.append(document.createTextNode(node.textContent));
    }
  }
  return fragment;
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function selectedSlug() {
  const option = personSelect.selectedOptions[0];
  return option && option.dataset.slug ? option.dataset.slug : "";
}

function entriesOf(data, slug) {
  const entries = (data.sub_results || []).filter((sub) => {
    const hash = sub.url.split("#")[1] || "";
    if (!/-\d+$/.test(hash)) return false; // a section heading, not an entry
    return !slug || hash.startsWith(`${slug}-`) && /^\d+$/.test(hash.slice(slug.length + 1));
  });
  return entries;
}

async function render(token) {
  const slug = selectedSlug();
  const batch = current.results.slice(current.shown, current.shown + PAGE_SIZE);
  const days = await Promise.all(batch.map((result) => result.data()));
  if (token !== current.token) return;
  for (const data of days) {
    const entries = entriesOf(data, slug);
    if (entries.length === 0) continue;
    const item = element("li");
    const heading = element("h2");
    heading.append(element("a", data.meta.title || data.url, { href: data.url }));
    item.append(heading);
    for (const sub of entries) {
      const title = element("h3");
      title.append(element("a", sub.title, { href: sub.url }));
      const excerpt = element("p");
      excerpt.append(excerptNodes(sub.excerpt || ""));
      item.append(title, excerpt);
    }
    list.append(item);
  }
  current.shown += batch.length;
  moreButton.hidden = current.shown >= current.results.length;
}

async function search() {
  if (FROM_DISK) return; // G: the message stays; there is no index to ask
  const query = input.value.trim();
  const token = ++current.token;
  const filters = {};
  if (topicSelect.value) filters.topic = topicSelect.value;
  if (personSelect.value) filters.person = personSelect.value;
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  if (topicSelect.value) params.set("topic", topicSelect.value);
  if (personSelect.value) params.set("person", personSelect.value);
  history.replaceState(null, "", params.toString() ? `?${params}` : window.location.pathname);
  list.replaceChildren();
  moreButton.hidden = true;
  if (!query) {
    statusLine.textContent = "";
    return;
  }
  statusLine.textContent = "Searching…";
  const engine = await loadPagefind();
  const response = await engine.search(query, { filters });
  if (token !== current.token) return;
  current = { results: response.results, shown: 0, token };
  const count = response.results.length;
  statusLine.textContent = count === 0
    ? `Nothing found for “${query}”.`
    : `${count} ${count === 1 ? "day" : "days"} with posts matching “${query}”.`;
  await render(token);
}

let timer = 0;
function searchSoon() {
  clearTimeout(timer);
  timer = setTimeout(search, 250);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
input.addEventListener("input", searchSoon);
topicSelect.addEventListener("change", search);
personSelect.addEventListener("change", search);
moreButton.addEventListener("click", () => render(current.token));

const initial = new URLSearchParams(window.location.search);
input.value = initial.get("q") || "";
topicSelect.value = initial.get("topic") || "";
personSelect.value = initial.get("person") || "";
if (input.value) search();
