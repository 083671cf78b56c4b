// Prints the version a Pulumi plugin binary reports about itself over the
// plugin protocol (GetPluginInfo), the same call the engine makes. Used by
// setup.sh and the toolchain test to accept only released builds: a -trimpath
// Go build records no ldflags, so asking the plugin is how its stamp is read.
//   node toolchain/plugin-version.js <plugin binary>
// Plain JavaScript: it runs before the project's TypeScript tooling is set up.
"use strict";
const { spawn } = require("node:child_process");
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

const sdk = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const services = {
  language: require(path.join(sdk, "proto", "language_grpc_pb.js")).LanguageRuntimeClient,
  resource: require(path.join(sdk, "proto", "provider_grpc_pb.js")).ResourceProviderClient,
};

function main() {
  const binary = process.argv[2];
  if (!binary) throw new Error("usage: plugin-version.js <plugin binary>");
  const kind = /pulumi-language-/.test(path.basename(binary)) ? "language" : "resource";
  // A provider requires an engine address; nothing listens there and
  // GetPluginInfo never needs it. The language host runs without one.
  const args = kind === "resource" ? ["127.0.0.1:9"] : [];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const deadline = setTimeout(() => fail(new Error("no answer within 30 s")), 30_000);
  const fail = (err) => {
    clearTimeout(deadline);
    child.kill("SIGKILL");
    process.stderr.write(`${binary}: ${err.message}\n`);
    process.exitCode = 1;
  };
  child.on("error", fail);
  let out = "";
  child.stdout.on("data", (d) => {
    out += d.toString();
    const port = /^(\d+)\s*$/m.exec(out)?.[1];
    if (!port || child.asked) return;
    child.asked = true;
    const client = new services[kind](`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    client.getPluginInfo(new Empty(), (err, info) => {
      if (err) return fail(err);
      clearTimeout(deadline);
      client.close();
      child.kill("SIGTERM");
      process.stdout.write(`${info.getVersion()}\n`);
    });
  });
}

main();
