// systemd unit rendering, with the sandbox every kit unit carries.
import { KIT_TEMPLATES, type Templates } from "./templates";
import { escapePath, mountUnitName } from "../../plan/paths";

export { escapePath, mountUnitName };

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

export function renderServiceUnit(model: ServiceUnitModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("systemd/service.hbs", {
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

export function renderTimerUnit(model: TimerUnitModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("systemd/timer.hbs", { header: HEADER, description: model.description, timer: model.timer });
}

export interface MountUnitModel {
  device: string;
  mountPoint: string;
  fsType: string;
}

export function renderMountUnit(m: MountUnitModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("systemd/mount.hbs", {
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

export function renderPathUnit(model: PathUnitModel, t: Templates = KIT_TEMPLATES): string {
  return t.render("systemd/path.hbs", { header: HEADER, description: model.description, path: model.path });
}
