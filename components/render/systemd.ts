// systemd unit rendering, with the sandbox every kit unit carries.
import { renderTemplate } from "./templates";

export const HEADER = "Rendered by mirrorkit. Changes made on the host are overwritten by the next `pulumi up`.";

/**
 * The hardening baseline of every service the kit installs. Units add what
 * they need on top (capabilities, writable paths). Target: an exposure of
 * 2.5 or less in `systemd-analyze security`.
 */
export const SANDBOX: readonly string[] = [
  "NoNewPrivileges=yes",
  "ProtectSystem=strict",
  "ProtectHome=yes",
  "PrivateTmp=yes",
  "PrivateDevices=yes",
  "DevicePolicy=closed",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectKernelLogs=yes",
  "ProtectControlGroups=yes",
  "ProtectClock=yes",
  "ProtectHostname=yes",
  "ProtectProc=invisible",
  "ProcSubset=pid",
  "RestrictNamespaces=yes",
  "RestrictRealtime=yes",
  "RestrictSUIDSGID=yes",
  "LockPersonality=yes",
  "MemoryDenyWriteExecute=yes",
  "RemoveIPC=yes",
  "KeyringMode=private",
  "UMask=0022",
  "SystemCallArchitectures=native",
  "SystemCallFilter=@system-service",
  "SystemCallFilter=~@privileged @resources @mount @swap @reboot @raw-io @module @obsolete @cpu-emulation @debug",
  "SystemCallErrorNumber=EPERM",
];

export interface ServiceUnitModel {
  description: string;
  /** Extra [Unit] lines, e.g. RequiresMountsFor=. */
  unit: string[];
  /** [Service] lines, before the sandbox. */
  service: string[];
  /** Lines after the sandbox that relax it where the service must (e.g. re-allowed system calls). */
  sandboxExceptions?: string[];
  wantedBy?: string;
}

export function renderServiceUnit(model: ServiceUnitModel): string {
  return renderTemplate("systemd/service.hbs", {
    header: HEADER,
    description: model.description,
    unit: model.unit,
    service: [...model.service, ...SANDBOX, ...(model.sandboxExceptions ?? [])],
    wantedBy: model.wantedBy ?? "multi-user.target",
  });
}

export interface TimerUnitModel {
  description: string;
  /** [Timer] lines. */
  timer: string[];
}

export function renderTimerUnit(model: TimerUnitModel): string {
  return renderTemplate("systemd/timer.hbs", { header: HEADER, description: model.description, timer: model.timer });
}

/** systemd's path escaping (systemd-escape --path), for mount unit names. */
export function escapePath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "-";
  return trimmed
    .split("/")
    .map((part) =>
      [...part]
        .map((ch, i) => (/[A-Za-z0-9:_]/.test(ch) || (ch === "." && i > 0) ? ch : `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`))
        .join(""),
    )
    .join("-");
}

export interface MountUnitModel {
  device: string;
  mountPoint: string;
  fsType: string;
}

export function mountUnitName(mountPoint: string): string {
  return `${escapePath(mountPoint)}.mount`;
}

export function renderMountUnit(m: MountUnitModel): string {
  return renderTemplate("systemd/mount.hbs", {
    header: HEADER,
    description: `mirrorkit data volume ${m.device} at ${m.mountPoint}`,
    what: m.device,
    where: m.mountPoint,
    type: m.fsType,
    // noatime: a mirror is read far more than written.
    options: "defaults,noatime",
  });
}

export interface PathUnitModel {
  description: string;
  /** [Path] lines. */
  path: string[];
}

export function renderPathUnit(model: PathUnitModel): string {
  return renderTemplate("systemd/path.hbs", { header: HEADER, description: model.description, path: model.path });
}
