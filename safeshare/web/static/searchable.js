// A long list to pick from (the pupil on the concern form) made searchable with the GOV.UK
// Design System's accessible autocomplete: each select marked data-searchable becomes a text box
// that suggests the choices holding every word typed, anywhere in them (data-searchable=
// "with-none": its empty first line is a choice too). The select stays in the form, hidden, and
// is what is sent; without JavaScript it is the choice itself.

const LIBRARY = "/static/built/accessible-autocomplete.min.js";

/** Whether every word typed is somewhere in the choice's text, so that a surname, a first
 * name or a year group ("smith 7") finds a pupil, not only the start of their name. */
function matches(text, query) {
  const within = text.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => within.includes(word));
}

/** A choice's text as HTML: the library writes suggestions as HTML, and a name is text. */
function escaped(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

/** The choices the select offers, by their text (the empty "choose" line left out unless
 * `withNone`, where it is an answer: "not about a member of staff"). */
function choices(select, withNone) {
  return [...select.options].filter((o) => o.value || withNone).map((o) => o.textContent.trim());
}

/** Keep the select's hint and error message describing the text box that replaces it: the
 * library writes the box's aria-describedby itself (its own instructions, then nothing once
 * something is typed), which would leave a screen reader without the error. */
function keepDescribed(input, ids) {
  if (!ids.length) return;
  const restore = () => {
    const now = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    const missing = ids.filter((id) => !now.includes(id));
    if (missing.length) input.setAttribute("aria-describedby", [...missing, ...now].join(" "));
  };
  restore();
  new MutationObserver(restore).observe(input, {
    attributes: true,
    attributeFilter: ["aria-describedby"],
  });
}

/** Set the select to the choice whose text this is (the first, should two read the same),
 * or to none. */
function choose(select, text) {
  const wanted = text.trim().toLowerCase();
  const chosen = [...select.options].find((o) => o.textContent.trim().toLowerCase() === wanted);
  select.value = chosen ? chosen.value : "";
}

/** On sending, what the box says is what is sent: text typed and left without picking a
 * suggestion, or a pupil picked and then the box changed, never sends a child the box no
 * longer shows. */
function sendWhatIsShown(select, input) {
  select.form?.addEventListener("submit", () => choose(select, input.value));
}

/** Replace one select with the autocomplete, its label, hint and error kept. Leaving the box
 * picks nothing (the library would pick its first suggestion: for a pupil, maybe the wrong
 * child, unseen), and the suggestions lie over the fields below rather than push them down (a
 * click on the button beneath would land where it no longer is). */
function searchable(select) {
  const id = select.id;
  const described = (select.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  const invalid = select.getAttribute("aria-invalid");
  const withNone = select.dataset.searchable === "with-none";
  const texts = choices(select, withNone);
  window.accessibleAutocomplete.enhanceSelectElement({
    selectElement: select,
    defaultValue: withNone ? undefined : "",
    preserveNullOptions: withNone,
    confirmOnBlur: false,
    displayMenu: "overlay",
    source: (query, populate) => populate(texts.filter((text) => matches(text, query))),
    templates: { suggestion: escaped },
    onConfirm: (text) => text !== undefined && choose(select, text),
  });
  const input = document.getElementById(id);
  if (invalid) input.setAttribute("aria-invalid", invalid);
  keepDescribed(input, described);
  sendWhatIsShown(select, input);
}

/** Load the library only on a page that has something to make searchable. */
export async function makeSearchable() {
  const selects = document.querySelectorAll("select[data-searchable]");
  if (!selects.length) return;
  await import(LIBRARY);
  selects.forEach(searchable);
}
