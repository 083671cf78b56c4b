// Pulumi mocks that record every resource a program registers. Must be
// installed before the code under test is imported.
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export const registered: Registered[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args: pulumi.runtime.MockResourceArgs) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      // A command ran and printed nothing (outputs such as PushKey's read stdout).
      const outputs = args.type === "command:remote:Command" ? { stdout: "", stderr: "" } : {};
      return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
    },
    call(args: pulumi.runtime.MockCallArgs) {
      return args.inputs;
    },
  },
  "mirrorkit",
  "unit",
  false,
);

/** Waits until the registrations queued so far have reached the mocks. */
export async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
}

/** The engine's marker on a value that is secret as a whole (a property holding a secret anywhere). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** A registered input, with the engine's secret wrapper taken off. */
export function unsecret<T>(v: unknown): T {
  const o = v as Record<string, unknown> | undefined;
  return (o && o[SECRET_SIG] === SECRET_VALUE ? o.value : o) as T;
}

/** A registered input with every secret-wrapped value (kept encrypted by the engine) replaced by "[engine secret]". */
export function withoutEngineSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutEngineSecrets);
  if (typeof v !== "object" || v === null) return v;
  const o = v as Record<string, unknown>;
  if (o[SECRET_SIG] === SECRET_VALUE) return "[engine secret]";
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, withoutEngineSecrets(x)]));
}
