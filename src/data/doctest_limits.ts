/**
 * Data-set sizes for documentation examples: with RESNET_TS_DOCTEST=1|true|yes (set by the doc
 * tests) loadDataFashionMnist uses only the first 64 training and 32 test images unless the
 * caller gives trainLimit / testLimit, so the README's examples run as written in seconds. The
 * one reader of RESNET_TS_DOCTEST.
 */
export function doctestLimits(
  env: NodeJS.ProcessEnv = process.env,
): { trainLimit: number; testLimit: number } | undefined {
  return /^(1|true|yes|on)$/i.test(env.RESNET_TS_DOCTEST ?? '') ? { trainLimit: 64, testLimit: 32 } : undefined;
}
