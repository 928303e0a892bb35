/** `hyperwire/controllers`: Midway-style decorated WebSocket controllers (seed 003). */
export { WSController, OnWSConnection, OnWSMessage, WSBroadCast, OnWSDisConnection, Inject, App, type ControllerClass } from './decorators.js';
export { createWebSocketApp, createWebSocketClient, type WebSocketApp, type WebSocketAppOptions, type UpgradeAuth } from './app.js';
