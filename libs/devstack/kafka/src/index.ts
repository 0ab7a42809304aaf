export { startKafkaDevBroker } from './broker';
export type { KafkaDevBroker, KafkaDevBrokerOptions } from './broker';
