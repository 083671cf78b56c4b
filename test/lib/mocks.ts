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
      return { id: `${args.name}-id`, state: args.inputs };
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
