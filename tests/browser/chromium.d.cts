/** Types of chromium.cjs, for playwright.config.ts. */
declare const chromium: { executablePath: string; args: string[] };
export = chromium;
