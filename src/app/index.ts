/** `hyperwire/app`: the HyperExpress app model for WebSockets (seed 000). */
export { Server, type AppServerOptions } from './server.js';
export { Router, type WsRouteOptions, type MessageType, type UpgradeRequest, type UpgradeResponse, type Middleware, type UpgradeHandler, type WsHandler } from './router.js';
export { Websocket } from './websocket.js';
