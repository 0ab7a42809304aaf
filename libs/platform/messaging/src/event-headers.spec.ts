import { eventHeaders } from './event-headers';

describe('eventHeaders', () => {
  it('names the encoding, type and id of an event message', () => {
    expect(eventHeaders({ eventType: 'trellis.job.v1.JobCreated', eventId: 'e-1' })).toEqual({
      'content-type': 'application/x-protobuf',
      'event-type': 'trellis.job.v1.JobCreated',
      'event-id': 'e-1',
    });
  });
});
