// trellis.job.v1: JobService (messages, nice-grpc definition, client and implementation
// types) and the events published to `job.events.v1`.
export * from '../gen/trellis/job/v1/job_service';
export * from '../gen/trellis/job/v1/events';
