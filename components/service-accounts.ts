// The node's three identities: the mirror (sync) account that owns the tree,
// the web server's account and the public rsync daemon's account. Accounts
// that already exist (nobody/nogroup, say) are used as they are; only what
// this component created is removed on destroy (it keeps a marker per
// account it made).
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { AccountsConfig } from "./config";
import { KIT_STATE_DIR } from "../plan/paths";
import type { Connection } from "./connection";
import { script, sq } from "./shell";

export interface ServiceAccountsArgs {
  connection: pulumi.Input<Connection>;
  accounts: AccountsConfig;
  /** Also ensure the private tier daemon's account (only nodes with a private module need it). */
  withTier: boolean;
  /** Also ensure the push account (only nodes that accept pushes need it). */
  withPush?: boolean;
}

const MARKERS = `${KIT_STATE_DIR}/accounts`;

type Role = keyof AccountsConfig;

/** The user and primary group of each role; the tier account's group is the mirror group. */
export function identity(accounts: AccountsConfig, role: Role): { user: string; group: string } {
  if (role === "tier") return { user: accounts.tier.user, group: accounts.mirror.group };
  // The push account has a group of its own and nothing else.
  if (role === "push") return { user: accounts.push.user, group: accounts.push.user };
  return accounts[role];
}

function ensureAccount(role: Role, user: string, group: string, forbiddenGroup?: string): string {
  // sshd runs a forced command through the account's shell, so the push account needs one.
  const shell = role === "push" ? "/bin/sh" : "/usr/sbin/nologin";
  const lines = [
    `install -d -m 0700 ${MARKERS}`,
    `if ! getent group ${sq(group)} >/dev/null; then groupadd --system ${sq(group)}; touch ${MARKERS}/group-${group}; fi`,
    `if ! getent passwd ${sq(user)} >/dev/null; then`,
    `  useradd --system --gid ${sq(group)} --no-create-home --home-dir /nonexistent --shell ${shell} --comment ${sq(`mirrorkit ${role}`)} ${sq(user)}`,
    `  touch ${MARKERS}/user-${user}`,
    "fi",
  ];
  if (forbiddenGroup) {
    // An existing account may already be in the mirror group; refuse it
    // rather than serve staged content.
    lines.push(
      `if id -nG ${sq(user)} | tr ' ' '\\n' | grep -qx ${sq(forbiddenGroup)}; then`,
      `  echo "account ${user} (${role}) is a member of the mirror group ${forbiddenGroup}; it would serve staged content" >&2; exit 1`,
      "fi",
    );
  }
  return script(...lines);
}

function removeAccount(user: string, group: string): string {
  return script(
    `if [ -e ${MARKERS}/user-${user} ]; then userdel ${sq(user)}; rm -f ${MARKERS}/user-${user}; fi`,
    `if [ -e ${MARKERS}/group-${group} ]; then groupdel ${sq(group)} 2>/dev/null || true; rm -f ${MARKERS}/group-${group}; fi`,
  );
}

export class ServiceAccounts extends pulumi.ComponentResource {
  /** One command per role; depend on these before using the accounts. */
  readonly ready: command.remote.Command[];

  constructor(name: string, args: ServiceAccountsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:node:ServiceAccounts", name, args, opts);
    const mirrorGroup = args.accounts.mirror.group;
    const mirror = this.account(name, "mirror", args, undefined, opts?.dependsOn);
    // The others come after the mirror account so the membership check sees its group.
    const http = this.account(name, "http", args, mirrorGroup, [mirror]);
    const rsync = this.account(name, "rsync", args, mirrorGroup, [mirror]);
    this.ready = [mirror, http, rsync];
    if (args.withTier) this.ready.push(this.account(name, "tier", args, undefined, [mirror]));
    if (args.withPush) this.ready.push(this.account(name, "push", args, mirrorGroup, [mirror]));
    this.registerOutputs({});
  }

  private account(
    name: string,
    role: Role,
    args: ServiceAccountsArgs,
    forbiddenGroup: string | undefined,
    dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined,
  ): command.remote.Command {
    const { user, group } = identity(args.accounts, role);
    return new command.remote.Command(
      `${name}-${role}`,
      {
        connection: args.connection,
        create: ensureAccount(role, user, group, forbiddenGroup),
        delete: removeAccount(user, group),
      },
      { parent: this, dependsOn },
    );
  }
}
