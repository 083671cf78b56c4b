// The node's second runtime: the same web server and rsync daemons as
// containers through @pulumi/docker, with the mirror tree as a volume. Each
// container gets the very files the host runtime renders (uploads) and runs as
// the same identity, with capabilities dropped to what the host units keep.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { DockerSchema, redactSecrets, type NodeConfig } from "./config";
import { nodeEndpoints, type MirrorNodeEndpoints } from "./mirror-node";
import { renderRsyncdSecrets } from "./render/rsync";
import { templatesFor } from "./render/templates";
import { planNode } from "../plan/node";
import { unitLogDir, unitRuntimeDir } from "../plan/paths";

export const DOCKER_CONTEXT = path.resolve(__dirname, "..", "docker");

export class DockerNode extends pulumi.ComponentResource {
  readonly endpoints: MirrorNodeEndpoints;
  readonly node: NodeConfig;

  constructor(name: string, args: NodeConfig, opts?: pulumi.ComponentResourceOptions) {
    super("mirrorkit:docker:DockerNode", name, redactSecrets(args), opts);
    this.node = redactSecrets(args);
    // Filled by the schema for a Docker node; a hand-built config gets the same defaults.
    const settings = args.docker ?? DockerSchema.parse({});
    const provider = new docker.Provider(`${name}-daemon`, { host: settings.daemon }, { parent: this });
    const mine = { parent: this, provider };

    const { mirror, http, tier } = args.accounts;
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: settings.image,
        skipPush: true,
        build: {
          context: DOCKER_CONTEXT,
          dockerfile: path.join(DOCKER_CONTEXT, "Dockerfile"),
          args: {
            MIRROR_USER: mirror.user,
            MIRROR_GROUP: mirror.group,
            HTTP_USER: http.user,
            HTTP_GROUP: http.group,
            TIER_USER: tier.user,
          },
        },
      },
      mine,
    );
    const tree = new docker.Volume(`${name}-tree`, { name: `${name}-tree` }, mine);
    // Public daemons read the tree; nothing in a container may change it.
    const treeMount = [{ volumeName: tree.name, containerPath: args.mirrorRoot, readOnly: true }];

    // The same plan as the host runtime: its web and rsync files become uploads.
    const plan = planNode(args, templatesFor(args.templateDir));
    const web = plan.web.model;
    const webCommand =
      args.web.server === "nginx"
        ? ["/usr/sbin/nginx", "-c", web.configPath, "-e", "stderr", "-g", "daemon off;"]
        : ["/usr/sbin/apache2", "-f", web.configPath, "-DFOREGROUND"];
    const webPorts = [{ internal: args.web.httpPort, external: args.web.httpPort }];
    if (args.web.tls) webPorts.push({ internal: args.web.tls.httpsPort, external: args.web.tls.httpsPort });
    new docker.Container(
      `${name}-web`,
      {
        name: `${name}-web`,
        image: image.imageName,
        command: webCommand,
        user: `${http.user}:${http.group}`,
        uploads: [...plan.web.support, plan.web.config].map((f) => ({ file: f.path, content: f.content })),
        volumes: treeMount,
        ports: webPorts,
        readOnly: true,
        tmpfs: { [unitRuntimeDir(web.unitName)]: "mode=0755", [unitLogDir(web.unitName)]: "mode=0755", "/tmp": "" },
        capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] },
        securityOpts: ["no-new-privileges:true"],
        restart: "unless-stopped",
      },
      mine,
    );

    for (const { model: m, config, secrets } of plan.rsyncd) {
      const uploads: docker.types.input.ContainerUpload[] = [{ file: config.path, content: config.content }];
      if (secrets) {
        uploads.push({
          file: secrets.path,
          content: pulumi.secret(renderRsyncdSecrets(args.rsync.private?.users ?? [])),
          permissions: secrets.mode,
        });
      }
      new docker.Container(
        `${name}-rsyncd-${m.instance}`,
        {
          name: `${name}-rsyncd-${m.instance}`,
          image: image.imageName,
          command: ["/usr/bin/rsync", "--daemon", "--no-detach", `--config=${m.configPath}`],
          // As on the host: root only to chroot and drop to the module's uid/gid per connection.
          user: "root",
          uploads,
          volumes: treeMount,
          ports: [{ internal: m.port, external: m.port }],
          readOnly: true,
          tmpfs: { [unitRuntimeDir(m.unitName)]: "mode=0755", "/tmp": "" },
          capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE", "SETUID", "SETGID", "SYS_CHROOT"] },
          securityOpts: ["no-new-privileges:true"],
          restart: "unless-stopped",
        },
        mine,
      );
    }

    this.endpoints = nodeEndpoints(args);
    this.registerOutputs({ endpoints: this.endpoints, node: this.node });
  }
}
