/** uWebSockets.js types, from the newest build's declarations (the 20.30 API is a subset we stay within). */
export type {
  HttpRequest,
  HttpResponse,
  RecognizedString,
  TemplatedApp,
  WebSocket,
  WebSocketBehavior,
  us_listen_socket,
  us_socket_context_t,
} from 'uws-modern';
