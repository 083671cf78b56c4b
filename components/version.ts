// The kit's version, from package.json: stamped into trace files.
import { version } from "../package.json";

export const KIT_VERSION: string = version;
