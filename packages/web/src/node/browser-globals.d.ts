// The few browser globals that page.evaluate() callbacks use: they run in Chromium, not in Node, so this
// folder is typed for Node (the DOM library's fetch types would clash with Node's) plus these.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const localStorage: any;
declare const sessionStorage: any;
declare const NodeFilter: any;
type HTMLInputElement = any;
type HTMLScriptElement = any;
declare const requestAnimationFrame: (callback: (time: number) => void) => number;
