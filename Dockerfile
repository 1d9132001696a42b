# Build: docker build --build-arg REVISION=$(git rev-parse HEAD) -t diun-exporter .
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ARG REVISION=unknown
LABEL org.opencontainers.image.title="diun-exporter" \
      org.opencontainers.image.description="Prometheus exporter for container image updates, reading Diun's configuration" \
      org.opencontainers.image.source="https://github.com/diun-exporter/diun-exporter" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.revision="${REVISION}"
ENV NODE_ENV=production \
    DIUN_CONFIG=/etc/diun-exporter/diun.yml \
    DIUN_DB_PATH=/var/lib/diun-exporter/diun-exporter.json \
    DIUN_EXPORTER_REVISION=${REVISION}
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config/diun.yml /etc/diun-exporter/diun.yml
RUN mkdir -p /var/lib/diun-exporter && chown node:node /var/lib/diun-exporter
VOLUME /var/lib/diun-exporter
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/-/healthy').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js", "serve"]
