import { type RequestContext } from '../broker-context';
import { type Reader } from '../protocol/reader';
import { type Writer } from '../protocol/writer';

/**
 * An API handler parses the request body from `r` and returns the response body, or `null` when
 * the request expects no response (Produce with acks=0). Parsing errors throw
 * MalformedRequestError, which closes the connection.
 */
export type Handler = (ctx: RequestContext, r: Reader) => Writer | null | Promise<Writer | null>;
