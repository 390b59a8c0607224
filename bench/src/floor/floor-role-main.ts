/**
 * Process entry of one bare role of the floor (see token-floor.ts): `node
 * floor-role-main.js --role worker|gateway|clients --mode turns|read-only --sessions N --redis-url
 * URL ...`. Answers the parent's `count` with its counters (and the samples taken since the last
 * count) and exits on `stop` (or SIGTERM).
 */
import { parseArgs } from 'node:util';
import { runFloorClients } from './floor-clients.js';
import { runFloorGateway } from './floor-gateway.js';
import { FLOOR_MODES, FLOOR_ROLES, type FloorCounts, type FloorMode, type FloorReply, type FloorRequest, type FloorRole, type FloorRoleSettings } from './floor-protocol.js';
import { runFloorWorker } from './floor-worker.js';

const { values } = parseArgs({
  strict: true,
  options: {
    role: { type: 'string' },
    sessions: { type: 'string' },
    'redis-url': { type: 'string' },
    'model-url': { type: 'string' },
    'gateway-port': { type: 'string' },
    mode: { type: 'string', default: 'turns' },
  },
});
if (!FLOOR_ROLES.includes(values.role as FloorRole) || !FLOOR_MODES.includes(values.mode as FloorMode) || !values.sessions || !values['redis-url']) {
  process.stderr.write('usage: floor-role-main --role worker|gateway|clients --mode turns|read-only --sessions N --redis-url URL [--model-url URL] [--gateway-port N]\n');
  process.exit(2);
}
const settings: FloorRoleSettings = {
  role: values.role as FloorRole,
  mode: values.mode as FloorMode,
  sessions: Number(values.sessions),
  redisUrl: values['redis-url'],
  ...(values['model-url'] ? { modelUrl: values['model-url'] } : {}),
  ...(values['gateway-port'] ? { gatewayPort: Number(values['gateway-port']) } : {}),
};

const send = (reply: FloorReply) => process.send?.(reply);
const runners: Record<FloorRole, (settings: FloorRoleSettings) => Promise<{ counts: FloorCounts; port?: number }>> = {
  worker: runFloorWorker,
  gateway: runFloorGateway,
  clients: runFloorClients,
};
const { counts, port } = await runners[settings.role](settings);
process.on('message', (request: FloorRequest) => {
  if (request.type === 'stop') process.exit(0);
  const reply: FloorCounts = { ...counts };
  // Samples are per count: taken out with the reply, so the next count has only the later ones.
  if (counts.addedFirstMs) reply.addedFirstMs = counts.addedFirstMs.splice(0);
  send({ type: 'counts', counts: reply });
});
process.once('SIGTERM', () => process.exit(0));
send(port === undefined ? { type: 'ready' } : { type: 'ready', port });
