import { loadConfig } from '@chat/shared';
import { LOCAL_REDIS_DATA_DIR, type RunningStack } from './local-stack.js';

/** What `pnpm start` prints once everything is up: where to go first, then the parts. */
export function startBanner(running: RunningStack, env: NodeJS.ProcessEnv = process.env): string {
  const ops = opsLine(env);
  return [
    '',
    'scalable-chatbot-svc is running',
    `  Chat page  ${running.httpUrl}/`,
    `  Operator   ${running.httpUrl}/ops${ops}`,
    `  REST       ${running.httpUrl}  (POST /chat/session, POST /chat/message, GET /health, GET /metrics)`,
    `  WebSocket  ${running.wsUrl}/ws/<sessionId>/<clientId>`,
    `  Redis      ${running.spawnedCluster ? `cluster ${running.redisUrl} (3 masters + 3 replicas, spawned for this run)` : `${running.redisUrl}${running.spawnedRedis ? ` (spawned for this run; data kept in ${LOCAL_REDIS_DATA_DIR})` : ''}`}`,
    `  LLM        ${running.offlineLlmUrl ? `offline model at ${running.offlineLlmUrl} (no OPENAI_API_KEY set)` : 'OpenAI-compatible API from OPENAI_API_KEY / OPENAI_BASE_URL'}`,
    `  parts      ${running.gateways.length} gateway(s), ${running.workers.length} worker(s)`,
    'Press Ctrl-C to stop everything.',
    '',
  ].join('\n');
}

function opsLine(env: NodeJS.ProcessEnv): string {
  try {
    const { ops } = loadConfig(env);
    if (ops.token) return '  (asks for OPS_TOKEN)';
    return ops.enabled ? '' : '  (off: OPS_ENABLED=false)';
  } catch {
    return ''; // the gateways started, so their config loaded; nothing useful to add
  }
}
