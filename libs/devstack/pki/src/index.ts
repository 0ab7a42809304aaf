export { createDevPki, type DevIdentity, type DevPki } from './create-dev-pki';
