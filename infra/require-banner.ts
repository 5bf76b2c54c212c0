/**
 * ESM output has no `require`; CommonJS code inside dependencies still calls it
 * for Node built-ins, so every ESM bundle (the functions', imgctl's) defines one.
 * Its own module, free of CDK imports, so imgctl's install-time build can load it.
 */
export const REQUIRE_BANNER = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";
