// GOV.UK Frontend's components on every page (the error summary takes the focus, and its links
// the focus to their field): the classes its own page template sets with an inline script,
// which this site's Content-Security-Policy does not run. Then the long lists to pick from made
// searchable (/static/searchable.js).
import { initAll } from "/static/built/govuk-frontend.min.js";
import { makeSearchable } from "/static/searchable.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
await makeSearchable();
