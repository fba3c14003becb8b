/**
 * The version of this build. The version comes from package.json; `scripts/build.ts` defines
 * `SHOAL_BUILD_COMMIT` with the git commit when it compiles `dist/shoal`.
 */
import packageJson from "../../package.json" with { type: "json" };

declare const SHOAL_BUILD_COMMIT: string | undefined;

/** What `shoal version` and `/v1/info` report. */
export interface VersionInfo {
  version: string;
  /** Short git commit of the build, or `unknown` when run from source. */
  commit: string;
  /** Bun runtime version embedded in the binary. */
  runtime: string;
}

/** This build's version information. */
export const versionInfo: VersionInfo = {
  version: packageJson.version,
  commit: typeof SHOAL_BUILD_COMMIT === "string" && SHOAL_BUILD_COMMIT !== "" ? SHOAL_BUILD_COMMIT : "unknown",
  runtime: `bun ${Bun.version}`,
};
