// Prometheus's node_exporter under the kit's own unit: the host's metrics,
// and the sync jobs' textfile metrics (METRICS_DIR).
import { METRICS_DIR, NODE_EXPORTER_UNIT } from "../../plan/paths";
import { renderServiceUnit } from "./systemd";
import { KIT_TEMPLATES, type Templates } from "./templates";

export function renderNodeExporterUnit(listen: string, t: Templates = KIT_TEMPLATES): string {
  return renderServiceUnit(
    {
      description: `mirrorkit node_exporter on ${listen}, with the sync metrics of ${METRICS_DIR}`,
      unit: ["After=network-online.target", "Wants=network-online.target"],
      service: [
        // The account Debian's package makes.
        "User=prometheus",
        "Group=prometheus",
        `ExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=${listen} --collector.textfile.directory=${METRICS_DIR}`,
        "Restart=on-failure",
        // No capabilities at all; Internet sockets to answer, netlink and local ones for collectors.
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        "PrivateMounts=yes",
      ],
      // It reads the host's whole /proc (CPU, memory, network) and pid 1's mounts.
      sandboxExceptions: ["ProcSubset=all", "ProtectProc=default"],
    },
    t,
  );
}

export { NODE_EXPORTER_UNIT };
