/**
 * The remote client, as rt.remote: connect to an OIP v2 server (Tessera's `tessera serve`, or
 * another such as Triton or MLServer) and use its models as local ones are used. docs/remote.md.
 */
export { connect, type RemoteHostInfo, RemoteSession } from "./session.ts";
export { RemoteModel, type RemoteModelDescription } from "./model.ts";
export { RemoteRequest } from "./request.ts";
export type { ConnectOptions } from "./transport.ts";
