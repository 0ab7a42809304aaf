module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'platform-grpc',
  rootDir: __dirname,
};
