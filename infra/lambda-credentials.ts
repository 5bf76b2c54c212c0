/**
 * Bundled into each function in place of `@aws-sdk/credential-provider-node`.
 * On Lambda the execution role's credentials are always in the environment,
 * so the SDK's full default chain (SSO, STS, INI files, IMDS, ...: about a
 * third of a bundle) can never be reached; this keeps only its first step.
 * Local runs are not bundled and keep the SDK's own chain.
 */
interface EnvCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export const defaultProvider = () => async (): Promise<EnvCredentials> => {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (expected on Lambda)');
  }
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
};
