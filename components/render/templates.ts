// Loads and renders the handlebars templates under templates/. Strict mode
// (a missing field is an error, not an empty string) and no HTML escaping:
// these are config files. Logic stays in the TypeScript models.
import * as fs from "node:fs";
import * as path from "node:path";
import Handlebars from "handlebars";

export const TEMPLATE_DIR = path.resolve(__dirname, "..", "..", "templates");

const engine = Handlebars.create();
const compiled = new Map<string, Handlebars.TemplateDelegate>();

/** Renders templates/<name> with the given model. Pure: same model, same text. */
export function renderTemplate(name: string, model: object): string {
  let template = compiled.get(name);
  if (!template) {
    const source = fs.readFileSync(path.join(TEMPLATE_DIR, name), "utf8");
    template = engine.compile(source, { strict: true, noEscape: true });
    compiled.set(name, template);
  }
  return template(model);
}
