/**
 * The connection of a kubeconfig file, as Diun's provider reads the file KUBECONFIG names outside
 * a cluster: the current context's cluster (server, CA, TLS server name) and user (token, client
 * certificate, exec credential plugin, auth provider). @kubernetes/client-node reads the file and
 * runs the plugins, so they behave as kubectl's do; the pod calls stay ours (kube-api.ts).
 */
import type { RequestOptions } from 'node:https';
import { delimiter } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/schema.js';
import type { KubeConnection } from './kube-api.js';

type KubernetesConfig = NonNullable<Config['providers']['kubernetes']>;

/**
 * The connection of the kubeconfig at `paths` (one file, or several joined by `:` as kubectl
 * takes them). As in Diun, `endpoint`, `token`, `tokenFile` and `certAuthFilePath` are not used
 * then, and `tlsInsecure: true` skips the server certificate check. Throws naming KUBECONFIG.
 */
export async function kubeconfigConnection(
  paths: string,
  config: Pick<KubernetesConfig, 'tlsInsecure'>,
): Promise<KubeConnection> {
  const kc = new KubeConfig();
  const files = paths.split(delimiter).filter((file) => file !== '');
  for (const [index, file] of files.entries()) {
    try {
      if (index === 0) kc.loadFromFile(file);
      else {
        // kubectl's merge: the first file to set a name, or the current context, wins.
        const more = new KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more, true);
      }
    } catch (err) {
      throw new Error(`KUBECONFIG: cannot load "${file}": ${firstLine(err)}`);
    }
  }
  const context = kc.getCurrentContext();
  const cluster = kc.getCurrentCluster();
  if (!context || !cluster) {
    throw new Error(
      context
        ? `KUBECONFIG: context "${context}" names no cluster in "${paths}"`
        : `KUBECONFIG: no current-context in "${paths}"`,
    );
  }
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new Error(`KUBECONFIG: cluster "${cluster.name}" has no server URL`);
  }

  // What the library would put on a request: TLS material and the Authorization header.
  const options = async (): Promise<RequestOptions> => {
    const opts: RequestOptions = { headers: {} };
    try {
      await kc.applyToHTTPSOptions(opts);
    } catch (err) {
      // An exec plugin that failed: its first line of stderr, which names the problem.
      throw new Error(`KUBECONFIG: user of context "${context}": ${firstLine(err)}`);
    }
    return opts;
  };
  const first = await options();
  return {
    server,
    authorization: async () => authorizationOf(await options()),
    ca: first.ca as Buffer | undefined,
    cert: first.cert as Buffer | string | undefined,
    key: first.key as Buffer | string | undefined,
    ...(first.servername !== undefined && { servername: first.servername }),
    insecure: config.tlsInsecure || cluster.skipTLSVerify,
    mode: 'kubeconfig',
  };
}

function authorizationOf(opts: RequestOptions): string | undefined {
  // The library sets `Authorization`; headers given as a list are never made here.
  const headers = (Array.isArray(opts.headers) ? {} : (opts.headers ?? {})) as Record<
    string,
    unknown
  >;
  const header = headers.Authorization ?? headers.authorization;
  if (typeof header === 'string' && header !== '') return header;
  if (opts.auth) return `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  return undefined;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.trim().split('\n')[0] ?? '').slice(0, 300) || 'failed';
}
