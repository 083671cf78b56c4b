// Loads and renders the handlebars templates under templates/. Strict mode
// (a missing field is an error, not an empty string) and no HTML escaping:
// these are config files. Logic stays in the TypeScript models.
import * as fs from "node:fs";
import * as path from "node:path";
import Handlebars from "handlebars";

export const TEMPLATE_DIR = path.resolve(__dirname, "..", "..", "templates");

const engine = Handlebars.create();
const compiled = new Map<string, Handlebars.TemplateDelegate>();
let overrideDir: string | undefined;

/**
 * An operator's template overrides: a file at <dir>/<name> replaces
 * templates/<name>. Whatever it renders still passes the host-side
 * validation and the policy pack, which read the rendered files.
 */
export function useTemplateOverrides(dir: string | undefined): void {
  overrideDir = dir;
  compiled.clear();
}

function templatePath(name: string): string {
  if (overrideDir !== undefined) {
    const candidate = path.join(overrideDir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return path.join(TEMPLATE_DIR, name);
}

/** Renders the template `name` with the given model. Pure: same model, same text. */
export function renderTemplate(name: string, model: object): string {
  let template = compiled.get(name);
  if (!template) {
    template = engine.compile(fs.readFileSync(templatePath(name), "utf8"), { strict: true, noEscape: true });
    compiled.set(name, template);
  }
  return template(model);
}
