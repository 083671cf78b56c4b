// Loads and renders the handlebars templates under templates/. Strict mode
// (a missing field is an error, not an empty string) and no HTML escaping:
// these are config files. Logic stays in the TypeScript models.
import * as fs from "node:fs";
import * as path from "node:path";
import Handlebars from "handlebars";

export const TEMPLATE_DIR = path.resolve(__dirname, "..", "..", "templates");

/**
 * A set of templates: the kit's, or the kit's with an operator's overrides
 * (a file at <overrideDir>/<name> replaces templates/<name>). Whatever an
 * override renders still passes the host-side validation and the policy
 * pack, which read the rendered files. Passed to every renderer, never global.
 */
export class Templates {
  private readonly engine = Handlebars.create();
  private readonly compiled = new Map<string, Handlebars.TemplateDelegate>();

  constructor(readonly overrideDir?: string) {}

  private templatePath(name: string): string {
    if (this.overrideDir !== undefined) {
      const candidate = path.join(this.overrideDir, name);
      if (fs.existsSync(candidate)) return candidate;
    }
    return path.join(TEMPLATE_DIR, name);
  }

  /** Renders the template `name` with the given model. Pure: same model, same text. */
  render(name: string, model: object): string {
    let template = this.compiled.get(name);
    if (!template) {
      template = this.engine.compile(fs.readFileSync(this.templatePath(name), "utf8"), { strict: true, noEscape: true });
      this.compiled.set(name, template);
    }
    return template(model);
  }
}

/** The kit's own templates. */
export const KIT_TEMPLATES = new Templates();

/** The templates of a node whose `templateDir` (project-relative) is given, or the kit's. */
export function templatesFor(templateDir: string | undefined, projectDir = process.cwd()): Templates {
  return templateDir === undefined ? KIT_TEMPLATES : new Templates(path.resolve(projectDir, templateDir));
}
