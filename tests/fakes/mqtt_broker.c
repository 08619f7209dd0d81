#include "mqtt_broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MOSQUITTO_PATH "/usr/sbin/mosquitto"
#define START_TIMEOUT_MS 5000
#define ACK_TIMEOUT_MS 5000

struct mqtt_broker {
    pid_t pid;
    int port;
    char dir[64];
    char conf[96];
    char log[96];
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A port nobody listens on right now; another process may still take it before the
 * broker does, which start() notices and retries. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static bool accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool write_config(struct mqtt_broker *b)
{
    FILE *f = fopen(b->conf, "w");
    if (!f)
        return false;
    /* Run as root, mosquitto drops to its own user, and changing credentials clears the
     * parent-death signal that keeps a crashed test from leaving a broker behind; "user"
     * naming ourselves keeps it (and has no effect for a non-root user). */
    const struct passwd *me = getpwuid(getuid());
    fprintf(f,
            "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
            "log_type all\nuser %s\n",
            b->port, me ? me->pw_name : "root");
    return fclose(f) == 0;
}

/* Runs mosquitto on b->port and waits until it accepts; false if it exits first. */
static bool spawn(struct mqtt_broker *b)
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no stray broker when a test crashes */
        int log = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (log >= 0) {
            dup2(log, STDOUT_FILENO);
            dup2(log, STDERR_FILENO);
        }
        execl(MOSQUITTO_PATH, "mosquitto", "-c", b->conf, (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    for (int waited_ms = 0; waited_ms < START_TIMEOUT_MS; waited_ms += 10) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            b->pid = 0;
            return false;
        }
        if (accepts(b->port))
            return true;
        sleep_ms(10);
    }
    mqtt_broker_kill(b);
    return false;
}

struct mqtt_broker *mqtt_broker_start(void)
{
    if (access(MOSQUITTO_PATH, X_OK) != 0)
        return NULL;
    struct mqtt_broker *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    snprintf(b->dir, sizeof b->dir, "/tmp/balkon-mqtt-XXXXXX");
    if (!mkdtemp(b->dir)) {
        free(b);
        return NULL;
    }
    snprintf(b->conf, sizeof b->conf, "%s/mosquitto.conf", b->dir);
    snprintf(b->log, sizeof b->log, "%s/mosquitto.log", b->dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        b->port = free_port();
        if (b->port > 0 && write_config(b) && spawn(b))
            return b;
    }
    fprintf(stderr, "mqtt_broker: mosquitto did not start; see %s\n", b->log);
    mqtt_broker_stop(b);
    return NULL;
}

int mqtt_broker_port(const struct mqtt_broker *broker)
{
    return broker->port;
}

void mqtt_broker_kill(struct mqtt_broker *broker)
{
    if (!broker || broker->pid <= 0)
        return;
    kill(broker->pid, SIGKILL);
    waitpid(broker->pid, NULL, 0);
    broker->pid = 0;
}

bool mqtt_broker_restart(struct mqtt_broker *broker)
{
    mqtt_broker_kill(broker);
    return spawn(broker);
}

void mqtt_broker_stop(struct mqtt_broker *broker)
{
    if (!broker)
        return;
    if (broker->pid > 0) {
        kill(broker->pid, SIGTERM);
        waitpid(broker->pid, NULL, 0);
    }
    unlink(broker->conf);
    unlink(broker->log);
    rmdir(broker->dir);
    free(broker);
}

/* --- the test client ------------------------------------------------------------------ */

#define QUEUE_MAX 64
#define ACKS_MAX 32

struct received {
    char topic[256];
    char payload[4096];
};

struct mqtt_test_client {
    struct mosquitto *mosq;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool connected;
    int acks[ACKS_MAX]; /* message ids the broker acknowledged lately */
    size_t ack_count;
    struct received queue[QUEUE_MAX];
    size_t queued;
};

static void deadline_in(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt_test_client *c = obj;
    pthread_mutex_lock(&c->lock);
    c->connected = rc == 0;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

static void record_ack(struct mqtt_test_client *c, int mid)
{
    pthread_mutex_lock(&c->lock);
    c->acks[c->ack_count++ % ACKS_MAX] = mid;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    record_ack(obj, mid);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted)
{
    record_ack(obj, mid);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct mqtt_test_client *c = obj;
    pthread_mutex_lock(&c->lock);
    if (c->queued == QUEUE_MAX) {
        memmove(&c->queue[0], &c->queue[1], (QUEUE_MAX - 1) * sizeof c->queue[0]);
        c->queued--;
    }
    struct received *r = &c->queue[c->queued++];
    snprintf(r->topic, sizeof r->topic, "%s", msg->topic);
    size_t len = (size_t)msg->payloadlen < sizeof r->payload - 1 ? (size_t)msg->payloadlen
                                                                 : sizeof r->payload - 1;
    if (len)
        memcpy(r->payload, msg->payload, len);
    r->payload[len] = '\0';
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

static bool wait_ack(struct mqtt_test_client *c, int mid)
{
    struct timespec deadline;
    deadline_in(&deadline, ACK_TIMEOUT_MS);
    pthread_mutex_lock(&c->lock);
    bool found = false;
    while (!found) {
        size_t n = c->ack_count < ACKS_MAX ? c->ack_count : ACKS_MAX;
        for (size_t i = 0; i < n && !found; i++)
            found = c->acks[i] == mid;
        if (!found && pthread_cond_timedwait(&c->changed, &c->lock, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

struct mqtt_test_client *mqtt_test_client_new(int port)
{
    mosquitto_lib_init();
    struct mqtt_test_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    c->mosq = mosquitto_new(NULL, true, c);
    if (!c->mosq)
        goto fail;
    mosquitto_connect_callback_set(c->mosq, on_connect);
    mosquitto_publish_callback_set(c->mosq, on_publish);
    mosquitto_subscribe_callback_set(c->mosq, on_subscribe);
    mosquitto_message_callback_set(c->mosq, on_message);
    if (mosquitto_connect(c->mosq, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(c->mosq) != MOSQ_ERR_SUCCESS)
        goto fail;
    struct timespec deadline;
    deadline_in(&deadline, ACK_TIMEOUT_MS);
    pthread_mutex_lock(&c->lock);
    while (!c->connected && pthread_cond_timedwait(&c->changed, &c->lock, &deadline) != ETIMEDOUT) {
    }
    bool connected = c->connected;
    pthread_mutex_unlock(&c->lock);
    if (connected)
        return c;
fail:
    mqtt_test_client_free(c);
    return NULL;
}

bool mqtt_test_publish(struct mqtt_test_client *c, const char *topic, const char *payload,
                       bool retain)
{
    int mid;
    if (mosquitto_publish(c->mosq, &mid, topic, (int)strlen(payload), payload, 1, retain) !=
        MOSQ_ERR_SUCCESS)
        return false;
    return wait_ack(c, mid);
}

bool mqtt_test_subscribe(struct mqtt_test_client *c, const char *filter)
{
    int mid;
    if (mosquitto_subscribe(c->mosq, &mid, filter, 1) != MOSQ_ERR_SUCCESS)
        return false;
    return wait_ack(c, mid);
}

bool mqtt_test_wait_message(struct mqtt_test_client *c, const char *topic_filter, char *payload_out,
                            size_t size, int timeout_ms)
{
    struct timespec deadline;
    deadline_in(&deadline, timeout_ms);
    pthread_mutex_lock(&c->lock);
    bool found = false;
    while (!found) {
        for (size_t i = 0; i < c->queued && !found; i++) {
            bool match = false;
            if (mosquitto_topic_matches_sub(topic_filter, c->queue[i].topic, &match) !=
                    MOSQ_ERR_SUCCESS ||
                !match)
                continue;
            if (payload_out && size)
                snprintf(payload_out, size, "%s", c->queue[i].payload);
            memmove(&c->queue[i], &c->queue[i + 1], (c->queued - i - 1) * sizeof c->queue[0]);
            c->queued--;
            found = true;
        }
        if (!found && pthread_cond_timedwait(&c->changed, &c->lock, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

void mqtt_test_client_free(struct mqtt_test_client *c)
{
    if (!c)
        return;
    if (c->mosq) {
        mosquitto_disconnect(c->mosq);
        mosquitto_loop_stop(c->mosq, false);
        mosquitto_destroy(c->mosq);
    }
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
