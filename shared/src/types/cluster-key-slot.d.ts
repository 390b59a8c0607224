/** The Redis Cluster hash slot (0..16383) of a key or channel, honouring `{hash tags}`. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
