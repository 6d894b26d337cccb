// Build the web app's static files into safeshare/web/static/built (git-ignored; `make install`
// runs this): GOV.UK Frontend's CSS compiled with the system font stack, its JavaScript and
// its images, and the Design System's accessible autocomplete (the searchable pupil choice).
// (axe-core, for the browser tests, is read from node_modules by the tests.)
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const here = dirname(fileURLToPath(import.meta.url));
const built = join(here, "..", "safeshare", "web", "static", "built");
const govuk = join(here, "node_modules", "govuk-frontend", "dist", "govuk");
const autocomplete = join(here, "node_modules", "accessible-autocomplete", "dist");

rmSync(built, { recursive: true, force: true });
mkdirSync(built, { recursive: true });
const css = sass.compile(join(here, "safeshare.scss"), {
  style: "compressed",
  importers: [new sass.NodePackageImporter()],
  quietDeps: true,
});
if (css.css.includes("GDS Transport")) throw new Error("the GDS Transport font is not ours to use");
writeFileSync(join(built, "safeshare.css"), css.css);
cpSync(join(govuk, "govuk-frontend.min.js"), join(built, "govuk-frontend.min.js"));
cpSync(join(govuk, "assets", "images"), join(built, "assets", "images"), { recursive: true });
for (const file of ["accessible-autocomplete.min.js", "accessible-autocomplete.min.css"]) {
  cpSync(join(autocomplete, file), join(built, file));
}
