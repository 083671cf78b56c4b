// Where the node reports its sync state to people: the HTML status page and
// per-module JSON the sync jobs write, which the web server publishes. No
// imports, so the policy pack can read it too.

export const STATUS_DIR = "/var/lib/mirrorkit-sync/status";
export const STATUS_URL_PATH = "/mirror-status/";
