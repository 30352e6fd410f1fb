/** Major version of the wire contract: every REST URL carries `/v{API_VERSION}/`. */
export const API_VERSION = 1 as const;

/** Prefix of every Floe MIME type; the full type is `${MIME_PREFIX}<kind>+json`. */
export const MIME_PREFIX = 'application/vnd.floe.' as const;
